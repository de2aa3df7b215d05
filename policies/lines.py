"""Lines of a policy text: clean-up, repeated page headers, markers (第一部分 一、 （一） 1. （1）), dates."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from policies.numerals import NUMERAL_CHARS, chinese_to_int
from policies.script import fold
from policies.unitnames import UNIT_LABEL

_CN = f"[{NUMERAL_CHARS}]+"
MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"^第({_CN})(?:部分|篇|章)\s*")),
    (1, re.compile(rf"^({_CN})\s*[、.．]\s*")),
    (2, re.compile(rf"^[（(]\s*({_CN})\s*[）)]\s*")),
    (3, re.compile(r"^(\d{1,3})\s*[.．﹒、](?!\d)\s*")),
    (4, re.compile(r"^[（(]\s*(\d{1,3})\s*[）)]\s*")),
    (4, re.compile(r"^(\d{1,3})\s*[）)]\s*")),
)
# 5.100个美丽庭院创建行动: an item number directly followed by digits, an item only where the
# numbering runs on (policies/structure.py decides), since 1.5倍 may also open a line.
LOOSE_ITEM_RE = re.compile(r"^(\d{1,3})\s*[.．﹒、](?=\d)")
DATE_LINE_RE = re.compile(r"^[（(]?\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*[）)]?$")
NOTE_LINE_RE = re.compile(r"^[（(]此件.{0,12}[）)]$")
# 附件 / 附件： / 附件2 / 附件一 / 附件1：某某表 / 附件 某某表; not a sentence that starts with 附件中….
ATTACHMENT_RE = re.compile(
    rf"^附\s*件\s*(?:(\d+|[{NUMERAL_CHARS}]+)\s*[:：.．、]?|[:：]|(?=\s|$))\s*(.*)$"
)
_TITLE_WORDS_RE = re.compile(r"关于|(?:意见|通知|方案|办法|决定|规划|措施|细则|纲要)$")
_SPACES = " \t\u3000\ufeff\u00a0"
_BREAK_RE = re.compile(r"\r\n|[\r\n\f]")
# A field of the item above (牵头单位：X, 完成时限：Y, 分值：2分): the same line under many items is
# no page header, and it belongs to the paragraph above it.
FIELD_LINE_RE = re.compile(
    r"^[^\s：:。，,；;]{0,8}(?:单位|部门|主体|领导|时限|时间|节点|范围|分值|要求)\s*[:：]"
)
# The labels the unit reader knows (负责部门, 牵头责任单位, …), whatever their ending.
_LABEL_LINE_RE = re.compile(
    rf"^(?:{UNIT_LABEL}|完成时限|完成时间|时限要求|牵头领导|责任领导|分值|适用范围)\s*[:：]"
)


@dataclass(frozen=True)
class Line:
    """One non-empty line: as written and folded to Simplified (same length), and where it starts.

    `offset` is the index of `raw`'s first character in the text given to `split_lines`.
    """

    raw: str
    text: str
    offset: int = 0

    @property
    def marker(self) -> tuple[int, int, int] | None:
        """Return (level, number, end of marker) when the line starts with a numbering marker."""
        for level, pattern in MARKERS:
            m = pattern.match(self.text)
            if m and len(self.text) > m.end():
                return level, chinese_to_int(m.group(1)), m.end()
        return None

    @property
    def loose_marker(self) -> tuple[int, int, int] | None:
        """Return (3, number, end) when the line opens with a number and a dot before a digit."""
        m = LOOSE_ITEM_RE.match(self.text)
        return (3, int(m.group(1)), m.end()) if m else None

    @property
    def is_date(self) -> bool:
        """Return whether the line is only a date, as a date line of issue."""
        return DATE_LINE_RE.match(self.text) is not None

    @property
    def is_attachment(self) -> bool:
        """Return whether the line opens an attachment (附件：…)."""
        return len(self.text) <= 60 and ATTACHMENT_RE.match(self.text) is not None


def split_lines(text: str) -> list[Line]:
    """Return the non-empty lines of a text (any line ends), without repeated page headers."""
    lines = []
    for start, end in _line_spans(text):
        chunk = text[start:end]
        raw = chunk.strip(_SPACES)
        if raw:
            lines.append(Line(raw, fold(raw), start + len(chunk) - len(chunk.lstrip(_SPACES))))
    return _drop_repeated([ln for ln in lines if not NOTE_LINE_RE.match(ln.text)])


def _line_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) of each line of `text`, whatever its line ends."""
    spans, pos = [], 0
    for m in _BREAK_RE.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return spans


def _drop_repeated(lines: list[Line]) -> list[Line]:
    """Drop short non-item lines that repeat (page headers of legal databases, a repeated title)."""
    counts = Counter(ln.text for ln in lines if _header_like(ln))
    seen: set[str] = set()
    out = []
    for line in lines:
        if counts.get(line.text, 0) >= 2:
            if line.text in seen or not _TITLE_WORDS_RE.search(line.text):
                continue
            seen.add(line.text)
        out.append(line)
    return out


def _header_like(line: Line) -> bool:
    """Return whether a line may be a running header: short, no marker, date, field or table cell."""
    return (
        len(line.text) <= 60
        and line.marker is None
        and not line.is_date
        and not FIELD_LINE_RE.match(line.text)
        and not _LABEL_LINE_RE.match(line.text)
        and "|" not in line.text
        and "\t" not in line.text
    )
