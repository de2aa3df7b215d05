"""Cutting a list's text into sentences, clauses and names at the separators that stand outside
nested brackets (各县（市、区）人民政府 is one name), as spans of the text."""

from __future__ import annotations

import re

Span = tuple[int, int]
OPENERS, CLOSERS = "（([〔【", "）)]〕】"


def depth_split(text: str, span: Span, pattern: re.Pattern[str]) -> list[Span]:
    """Split `span` at matches of `pattern` outside nested brackets; trim and drop empty parts."""
    out, pos, depth, i = [], span[0], 0, span[0]
    while i < span[1]:
        char = text[i]
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(depth - 1, 0)
        elif depth == 0 and (m := pattern.match(text, i, span[1])) is not None and m.end() > i:
            out.append((pos, i))
            pos = i = m.end()
            continue
        i += 1
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
