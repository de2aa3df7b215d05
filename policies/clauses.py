"""Cutting a list's text into sentences, clauses and names at the separators that stand outside
nested brackets (各县（市、区）人民政府 is one name), as spans of the text."""

from __future__ import annotations

import re
from functools import cache

Span = tuple[int, int]
OPENERS, CLOSERS = "（([〔【", "）)]〕】"


@cache
def _with_brackets(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """Return a pattern that finds brackets as well as the separators of `pattern`."""
    return re.compile(
        rf"(?P<open>[{re.escape(OPENERS)}])|(?P<close>[{re.escape(CLOSERS)}])|(?:{pattern.pattern})"
    )


def depth_split(text: str, span: Span, pattern: re.Pattern[str]) -> list[Span]:
    """Split `span` at matches of `pattern` outside nested brackets; trim and drop empty parts."""
    out, pos, depth = [], span[0], 0
    for m in _with_brackets(pattern).finditer(text, span[0], span[1]):
        if m.group("open"):
            depth += 1
        elif m.group("close"):
            depth = max(depth - 1, 0)
        elif depth == 0 and m.end() > m.start():
            out.append((pos, m.start()))
            pos = m.end()
    out.append((pos, span[1]))
    return [t for t in (trim(text, s) for s in out) if t[0] < t[1]]


def trim(text: str, span: Span) -> Span:
    """Return the span without the spaces at its ends."""
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def cut(text: str, span: Span, pattern: re.Pattern[str]) -> tuple[Span, str]:
    """Cut a match of `pattern` off the span's start (^) or end ($) and return what was cut."""
    m = pattern.search(text[span[0] : span[1]])
    if m is None or m.start() == m.end():
        return span, ""
    if m.start() == 0:
        return trim(text, (span[0] + m.end(), span[1])), m.group(0)
    if m.end() == span[1] - span[0]:
        return trim(text, (span[0], span[0] + m.start())), m.group(0)
    return span, ""


# 各县、市、区政府: the short level words after a name that starts with 各 belong to that name.
_LEVEL_RE = re.compile(r"^(?:[县市区州盟旗镇乡]|街道|县区|市区|县市)(?:人民)?(?:政府)?$")


def merge_levels(text: str, elements: list[Span]) -> list[Span]:
    """Join 各县、市、区政府 into one name: level words after a name that starts with 各."""
    out: list[Span] = []
    for span in elements:
        previous = out[-1] if out else None
        if (
            previous is not None
            and text[previous[0]] == "各"
            and text[previous[1]] == "、"
            and _LEVEL_RE.match(text[span[0] : span[1]])
        ):
            out[-1] = (previous[0], span[1])
        else:
            out.append(span)
    return out
