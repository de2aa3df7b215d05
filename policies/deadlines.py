"""Deadline phrases of a policy text (2022年底前, 到2025年, 6月底, 三季度, 年内, 过渡期, 完成时限：2024年6月) as ISO dates."""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left
from collections.abc import Iterator
from datetime import date

from policies.model import Deadline
from policies.numerals import chinese_to_int

_NUM = r"(\d+|[一二两三四五六七八九十]+)"
_FULL_DATE = re.compile(r"(?:(截至|截止|至|到)\s*)?(\d{4})年(\d{1,2})月(\d{1,2})日(之前|以前|前)?")
_YEAR_MONTH = re.compile(r"(\d{4})年(\d{1,2})月(?:份)?(底|末)?(之前|以前|前)?(?!\d|份?\d)")
_YEAR_END = re.compile(r"(\d{4})年(?:年)?(底|末)(之前|以前|前)?")
_BY_YEAR = re.compile(r"(到|至|截至|截止)\s*(\d{4})年(?![\d年底末])|(\d{4})年(之前|以前|前)")
_MONTH_END = re.compile(r"(?<![年\d])(\d{1,2})月(底|末)(之前|以前|前)?")
_THIS_YEAR = re.compile(
    r"今年(?:年)?(?:底|末)(?:之前|以前|前)?|(?<![\d一二两三四五六七八九十每])年内|(?<![\d年])年底前"
)
# A date after a time-limit label is a deadline however it is written: 完成时限：2024年6月.
_LABELLED = re.compile(
    r"(?:完成时限|完成时间|时限要求|时间要求|时间节点|时限)[:：]\s*(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?"
)
# A quarter ends its last month: 三季度 → 9月30日, 2024年第四季度末前 → 2024年12月31日.
_QUARTER = re.compile(r"(?:(\d{4})年)?第?([一二三四1-4])季度(?:末|底)?(?:之前|以前|前)?")
_TRANSITION = re.compile(_NUM + r"年(?:的)?过渡期")
TRANSITION_PHRASE = re.compile(r"过渡期(?:内|末|结束前)?")


def month_end(year: int, month: int) -> date:
    """Return the last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def transition_years(text: str) -> int | None:
    """Return the length in years of the transition period the text sets (设立5年过渡期), if any."""
    match = _TRANSITION.search(text)
    if match is None:
        return None
    try:
        return chinese_to_int(match.group(1))
    except ValueError:
        return None


def _explicit(text: str) -> Iterator[tuple[int, int, date]]:
    for m in _FULL_DATE.finditer(text):
        if m.group(1) or m.group(5):
            yield m.start(), m.end(), _safe_date(int(m[2]), int(m[3]), int(m[4]))
    for m in _YEAR_MONTH.finditer(text):
        if m.group(3) or m.group(4):
            yield m.start(), m.end(), month_end(int(m[1]), _month(m[2]))
    for m in _YEAR_END.finditer(text):
        yield m.start(), m.end(), date(int(m[1]), 12, 31)
    for m in _BY_YEAR.finditer(text):
        yield m.start(), m.end(), date(int(m[2] or m[3]), 12, 31)
    for m in _QUARTER.finditer(text):
        if m.group(1):
            yield m.start(), m.end(), month_end(int(m[1]), 3 * chinese_to_int(m[2]))
    # Last: where a fuller phrase (2023年12月底前) was found, it is the one kept.
    for m in _LABELLED.finditer(text):
        year, month, day = int(m[1]), m[2], m[3]
        if day:
            when = _safe_date(year, int(month), int(day))
        else:
            when = month_end(year, _month(month)) if month else date(year, 12, 31)
        yield m.start(1), m.end(), when


def _relative(text: str, year: int | None, years: int | None) -> Iterator[tuple[int, int, date]]:
    if year is None:
        return
    for m in _MONTH_END.finditer(text):
        yield m.start(), m.end(), month_end(year, _month(m[1]))
    for m in _THIS_YEAR.finditer(text):
        yield m.start(), m.end(), date(year, 12, 31)
    for m in _QUARTER.finditer(text):
        if not m.group(1):
            yield m.start(), m.end(), month_end(year, 3 * chinese_to_int(m[2]))
    if years:
        for m in TRANSITION_PHRASE.finditer(text):
            yield m.start(), m.end(), date(year + years - 1, 12, 31)


def _month(text: str) -> int:
    return min(max(int(text), 1), 12)


def _safe_date(year: int, month: int, day: int) -> date:
    month = _month(str(month))
    return date(year, month, min(max(day, 1), calendar.monthrange(year, month)[1]))


def find_deadlines(text: str, *, year: int | None, transition: int | None = None) -> list[Deadline]:
    """Return the deadlines written in `text`, in order, once each.

    Args:
        text: the text, in Simplified script.
        year: the issue year, for phrases without a year (6月底, 年内, 过渡期).
        transition: the length in years of the document's transition period, if it sets one.
    """
    # The phrases kept so far never overlap: sorted by start, a new one is checked against its two
    # neighbours only, so a text with many deadlines stays linear.
    found: list[tuple[int, int, date]] = []
    for start, end, when in [*_explicit(text), *_relative(text, year, transition)]:
        i = bisect_left(found, (start,))
        if (i > 0 and found[i - 1][1] > start) or (i < len(found) and found[i][0] < end):
            continue
        if 1900 <= when.year <= 2200:
            found.insert(i, (start, end, when))
    out: dict[Deadline, None] = {}
    for start, end, when in found:
        out.setdefault(Deadline(text=text[start:end], date=when))
    return list(out)
