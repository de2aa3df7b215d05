"""Lines of a policy text: clean-up, repeated page headers, markers (一、 （一） 1. （1）), dates."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from policies.numerals import NUMERAL_CHARS, chinese_to_int
from policies.script import fold
from policies.unitnames import UNIT_LABEL

_CN = f"[{NUMERAL_CHARS}]+"
MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^({_CN})\s*[、.．]\s*")),
    (2, re.compile(rf"^[（(]\s*({_CN})\s*[）)]\s*")),
    (3, re.compile(r"^(\d{1,3})\s*[.．﹒、](?!\d)\s*")),
    (4, re.compile(r"^[（(]\s*(\d{1,3})\s*[）)]\s*")),
)
DATE_LINE_RE = re.compile(r"^[（(]?\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*[）)]?$")
NOTE_LINE_RE = re.compile(r"^[（(]此件.{0,12}[）)]$")
ATTACHMENT_RE = re.compile(r"^附\s*件\s*(\d*)\s*[:：]?\s*(.*)$")
_TITLE_WORDS_RE = re.compile(r"关于|(?:意见|通知|方案|办法|决定|规划|措施|细则|纲要)$")
_SPACES = " \t\u3000\ufeff\u00a0"
_BREAK_RE = re.compile(r"\r\n|[\r\n\f]")


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


# A label line (责任单位：县财政局) repeated under many items belongs to each, as no page header does.
_FIELD_LINE_RE = re.compile(
    rf"^(?:{UNIT_LABEL}|完成时限|完成时间|时限要求|牵头领导|责任领导|分值|适用范围)\s*[:：]"
)


def _header_like(line: Line) -> bool:
    return (
        len(line.text) <= 60
        and line.marker is None
        and not line.is_date
        and not _FIELD_LINE_RE.match(line.text)
    )
