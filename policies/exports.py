"""Legal-database exports and printed pages: drop page numbers, turn 【字段】 headers into lines.

An export opens with fields such as 【法规标题】…, 【发文字号】…, 【发布日期】… and then 【正文】;
the body is the document. The fields only add what the body lacks (a title, a document number,
an issue date), placed where a document has them, so the parser reads the export as the document.
A text without page numbers or fields comes back unchanged.
"""

from __future__ import annotations

import re

from policies.lines import DATE_LINE_RE
from policies.script import fold

PAGE_NUMBER_RE = re.compile(
    r"^[ \t\u3000]*(?:"
    r"第\s*\d+\s*页\s*[,，/／、]?\s*共\s*\d+\s*页"
    r"|共\s*\d+\s*页\s*[,，/／、]?\s*第\s*\d+\s*页"
    r"|[-—–－─]+\s*\d+\s*[-—–－─]+"
    r"|第\s*\d+\s*页"
    r"|\d+\s*/\s*\d+"
    r"|[Pp]age\s+\d+(?:\s+of\s+\d+)?"
    r")[ \t\u3000]*$"
)
_FIELD_RE = re.compile(r"^[ \t\u3000]*【\s*([^】]{1,12}?)\s*】[ \t\u3000]*(.*)$")
_BODY_FIELDS = {"正文", "全文", "正文内容"}
_TITLE_FIELDS = {"法规标题", "标题", "法规名称", "名称", "文件名称"}
_NUMBER_FIELDS = {"发文字号", "发文字號", "文号", "文號", "發文字號"}
_DATE_FIELDS = {"发布日期", "發布日期", "颁布日期", "頒布日期", "成文日期", "公布日期"}
_DATE_RE = re.compile(r"(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})")
_BLANKS = re.compile(r"[\s\u3000]+")


def clean_export(text: str) -> str:
    """Return the text without page-number lines and with an export's 【字段】 header resolved."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line for line in lines if not PAGE_NUMBER_RE.match(line)]
    fields, body = _split_fields(kept)
    if fields is None:
        return text if len(kept) == len(lines) else "\n".join(kept)
    return "\n".join(_with_header(fields, _strip_trailing_fields(body)))


def _split_fields(lines: list[str]) -> tuple[dict[str, str] | None, list[str]]:
    """Return the header fields and the body, or (None, lines) when there is no field header."""
    fields: dict[str, str] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = _FIELD_RE.match(line)
        if m is None:
            return (fields, lines[i:]) if len(fields) >= 2 else (None, lines)
        key = _BLANKS.sub("", m.group(1))
        if key in _BODY_FIELDS:
            rest = [m.group(2)] if m.group(2).strip() else []
            return fields, rest + lines[i + 1 :]
        fields[key] = m.group(2).strip()
    return None, lines


def _strip_trailing_fields(body: list[str]) -> list[str]:
    """Drop the database's own fields after the body (citation codes and the like)."""
    end = len(body)
    while end and (not body[end - 1].strip() or _FIELD_RE.match(body[end - 1])):
        end -= 1
    return body[:end]


def _with_header(fields: dict[str, str], body: list[str]) -> list[str]:
    """Put the title, number and date the body lacks where a document has them: at its head."""
    title = next((fields[k] for k in _TITLE_FIELDS if fields.get(k)), "")
    number = next((fields[k] for k in _NUMBER_FIELDS if fields.get(k)), "")
    issued = next((_date_line(fields[k]) for k in _DATE_FIELDS if fields.get(k)), None)
    head_end = _title_lines(body, title)
    head = [] if head_end or not title else [title]
    compact_top = _BLANKS.sub("", "".join(body[:12]))
    if number and _BLANKS.sub("", number) not in compact_top:
        head.append(number)
    if issued and not any(DATE_LINE_RE.match(line.strip()) for line in body):
        head.append(issued)
    return body[:head_end] + head + body[head_end:]


def _title_lines(body: list[str], title: str) -> int:
    """Return where the body's own title ends (0 when the body does not open with it).

    The title may stand after a running page header and be broken over lines.
    """
    want = fold(_BLANKS.sub("", title))
    if not want:
        return 0
    for start in range(min(len(body), 4)):
        seen = ""
        for i in range(start, min(len(body), start + 6)):
            seen += fold(_BLANKS.sub("", body[i]))
            if seen == want:
                return i + 1
            if not want.startswith(seen):
                break
    return 0


def _date_line(value: str) -> str | None:
    m = _DATE_RE.search(value)
    return f"{int(m[1])}年{int(m[2])}月{int(m[3])}日" if m else None
