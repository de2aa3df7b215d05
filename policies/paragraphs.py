"""Unnumbered paragraphs: which lines make one paragraph, and which paragraphs are tasks.

A paragraph runs on over lines that do not end a sentence (a wrapped line) and over the field
lines after it (牵头单位：X / 完成时限：Y belong to the paragraph above). A paragraph is a task when
it carries units of its own and opens with words of its own (a headline), not with a field label.
"""

from __future__ import annotations

import re

from policies.lines import FIELD_LINE_RE, Line
from policies.unitlists import read_brackets
from policies.units import Registry

# A line ending in one of these ends its paragraph; another line runs on into the next one.
_ENDS = tuple("。；;！!？?：:）)]】〕」』”")
_WRAPPED = 25  # a line this long that stops mid-sentence was wrapped (a PDF, a narrow page)
_PART_RE = re.compile(r"(?:(?<=^)|(?<=[。；;，,：:\s]))([一二三四五六七八九十]+)是")
_ENUMERATION_RE = re.compile(r"[；;，,、：:]$")


def paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Group lines into paragraphs: wrapped lines and the field lines after a paragraph join it."""
    out: list[list[Line]] = []
    for line in lines:
        field = FIELD_LINE_RE.match(line.text) is not None
        if out and (field or _runs_on(out[-1])):
            out[-1].append(line)
        else:
            out.append([line])
    return out


def _runs_on(paragraph: list[Line]) -> bool:
    """Return whether the next line continues this paragraph (its last line ends mid-sentence).

    A short line without a closing mark is a heading or a title, not a wrapped line.
    """
    last = paragraph[-1].text
    return (
        not FIELD_LINE_RE.match(paragraph[0].text)
        and len(last) >= _WRAPPED
        and not last.endswith(_ENDS)
    )


def names_units(text: str, registry: Registry) -> bool:
    """Return whether a text (Simplified) names a responsible unit in a bracket, list or sentence."""
    return any(bracket.units or bracket.declared for bracket in read_brackets(text, registry))


def is_task_paragraph(lines: list[Line], registry: Registry) -> bool:
    """Return whether a paragraph is a task of its own: a headline and units."""
    if FIELD_LINE_RE.match(lines[0].text):
        return False
    return names_units("\n".join(ln.text for ln in lines), registry)


def task_paragraphs(lines: list[Line], registry: Registry) -> list[list[Line]]:
    """Return the paragraphs of `lines` that are tasks of their own."""
    return [p for p in paragraphs(lines) if is_task_paragraph(p, registry)]


def enumerated_parts(lines: list[Line], registry: Registry) -> list[tuple[str, Line]]:
    """Return the parts 一是…；二是… of a line when each names units of its own, else [].

    Each part as its marker (一是) and the line from the marker to the next part. Parts without
    units of their own are parts of their item, not tasks.
    """
    for line in lines:
        marks = list(_PART_RE.finditer(line.text))
        if len(marks) < 2 or marks[0].group(1) != "一":
            continue
        ends = [m.start() for m in marks[1:]] + [len(line.text)]
        parts = [
            (m.group(0), _sub_line(line, m.start(), end))
            for m, end in zip(marks, ends, strict=True)
        ]
        if all(names_units(part.text, registry) for _, part in parts):
            return parts
    return []


def _sub_line(line: Line, start: int, end: int) -> Line:
    raw = line.raw[start:end].rstrip()
    return Line(raw, line.text[start : start + len(raw)], line.offset + start)


def enumerates(text: str) -> bool:
    """Return whether a line leads into or continues one enumerated sentence (ends in ：，；、)."""
    return bool(_ENUMERATION_RE.search(text))
