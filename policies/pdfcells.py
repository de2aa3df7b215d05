"""The lines of a PDF table cell, read from PDFium's characters: a line break told from wrapping.

A PDF keeps no line breaks, only where each character stands. A cell's line wraps when the first
word of the next line would not have fitted in the room left at its end (up to the cell's right
edge less its padding, taken to be the left padding); a line that stops short of that ended on
purpose (a task's title over its details), and the break is kept. Character boxes are PDFium's
loose ones: a glyph's advance, so a line's end is where the pen stopped, not where its ink ends.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

import pypdfium2.raw as pdfium_c

_Box = tuple[float, float, float, float]
_LATIN_END_RE = re.compile(r"[A-Za-z]$")
_WORD_CHAR_RE = re.compile(r"[0-9A-Za-z.,%'’\-]")
_TOLERANCE = 0.1  # of an em: rounding in the writer's measures, padding not quite even


@dataclass(frozen=True)
class Char:
    """One character of a page with its loose box (top down: `top` < `bottom`)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def middle(self) -> float:
        """Return the vertical middle of the box."""
        return (self.top + self.bottom) / 2


def page_chars(textpage: Any, height: float) -> list[Char]:
    """Return a page's characters by their vertical middle; the line ends PDFium adds left out.

    A space PDFium adds between words has no height: it stands on the line of the character
    before it.
    """
    out: list[Char] = []
    for i in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
        if code in (0, 0xFFFE, 0xFFFF) or chr(code) in "\r\n\x02":
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        if top - bottom < 0.01 and out:
            out.append(Char(chr(code), left, right, out[-1].top, out[-1].bottom))
        elif top - bottom >= 0.01:
            out.append(Char(chr(code), left, right, height - top, height - bottom))
    out.sort(key=lambda c: c.middle)
    return out


class PageChars:
    """A page's characters, found by the band of a table row."""

    def __init__(self, chars: list[Char]) -> None:
        self.chars = chars
        self.middles = [c.middle for c in chars]

    def in_band(self, top: float, bottom: float) -> list[Char]:
        """Return the characters whose middle lies between `top` and `bottom`."""
        return self.chars[bisect_left(self.middles, top) : bisect_right(self.middles, bottom)]


def cell_lines(chars: list[Char], box: _Box) -> list[str]:
    """Return a cell's lines of text: wrapped lines rejoined, deliberate breaks kept."""
    x0, _top, x1, _bottom = box
    inside = [c for c in chars if x0 <= (c.x0 + c.x1) / 2 <= x1]
    lines = _lines(inside)
    if not lines:
        return []
    pad = max(min(line[0].x0 for line in lines) - x0, 0.0)
    right = x1 - pad
    out = [_text(lines[0])]
    for previous, line in itertools.pairwise(lines):
        if _wraps(previous, line, right):
            out[-1] = join_wrapped(out[-1], _text(line))
        else:
            out.append(_text(line))
    return [text for text in out if text]


def _lines(chars: list[Char]) -> list[list[Char]]:
    """Group characters into lines (sharing a baseline), each left to right, top down."""
    lines: list[list[Char]] = []
    for char in sorted(chars, key=lambda c: c.top):
        line = lines[-1] if lines else None
        if line and abs(line[0].top - char.top) < 0.5 * max(char.bottom - char.top, 1.0):
            line.append(char)
        else:
            lines.append([char])
    return [sorted(line, key=lambda c: c.x0) for line in lines]


def _wraps(previous: list[Char], line: list[Char], right: float) -> bool:
    """Return whether the next line's first word would not have fitted after `previous`."""
    ink = [c for c in previous if not c.text.isspace()] or previous
    room = right - ink[-1].x1
    em = max(c.x1 - c.x0 for c in previous)  # a full-width character's advance, or near it
    word = _first_word(line)
    width = word[-1].x1 - word[0].x0 if word else 0.0
    return room < width + _TOLERANCE * em


def _first_word(line: list[Char]) -> list[Char]:
    """Return the characters of a line's first word: a run of Latin letters or digits, else one."""
    chars = [c for c in line if not c.text.isspace()]
    if not chars:
        return []
    if not _WORD_CHAR_RE.match(chars[0].text):
        return chars[:1]
    word = []
    for char in line[line.index(chars[0]) :]:
        if not _WORD_CHAR_RE.match(char.text):
            break
        word.append(char)
    return word


def _text(line: list[Char]) -> str:
    return "".join(c.text for c in line).strip()


def join_wrapped(left: str, right: str) -> str:
    """Join a wrapped line: Chinese lines break anywhere (numbers too); Latin words at spaces."""
    if _LATIN_END_RE.search(left) and right[:1].isascii() and right[:1].isalpha():
        return f"{left} {right}"
    return left + right
