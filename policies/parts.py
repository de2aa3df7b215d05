"""The parts of a document that hold tasks: the body and each attachment (附件) that holds tasks.

Each part is read the same way: table rows first, then numbered blocks and task paragraphs. An
attachment without tasks stays a list of names. The sections of an attachment are numbered on
after the body's (its 一、 is not the body's 一、), and rows outside any section of an attachment
fall under a section named after the attachment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.attachments import (
    attachment_chunks,
    attachment_title,
    drop_attachment_index,
    read_attachments,
    split_attachments,
)
from policies.lines import Line
from policies.model import Attachment, Section
from policies.outline import outline
from policies.paragraphs import names_units
from policies.structure import RawItem, blocks_of
from policies.tables import Row, find_rows
from policies.units import Registry

Entry = RawItem | Row


@dataclass
class Parts:
    """What the parts of a document hold: sections, items and rows in order, attachment lists."""

    sections: list[Section] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    body: list[Line] = field(default_factory=list)


def read_parts(lines: list[Line], registry: Registry) -> Parts:
    """Return the sections, entries and attachment lists of a document's lines."""
    body, attached = split_attachments(drop_attachment_index(lines))
    rows, rest = find_rows(body)
    sections, items = outline(blocks_of(rest), registry, rest)
    parts = Parts(sections, [*items, *rows], [], body)
    for chunk in attachment_chunks(attached):
        if not _read_attachment(parts, chunk, registry):
            parts.attachments += read_attachments(chunk)
    parts.entries.sort(key=lambda entry: entry.span[0])
    return parts


def _read_attachment(parts: Parts, chunk: list[Line], registry: Registry) -> bool:
    """Add the tasks of an attachment to the parts; return False when it holds none."""
    rows, rest = find_rows(chunk)
    sections, items = outline(blocks_of(rest), registry, rest)
    if not rows and not any(names_units(item.text, registry) for item in items):
        return False
    first = max((s.number for s in parts.sections), default=0)
    numbers = {s.number: first + i for i, s in enumerate(sections, start=1)}
    parts.sections += [Section(numbers[s.number], s.title) for s in sections]
    own = first + len(sections) + 1
    if rows or any(item.section == 0 for item in items):
        parts.sections.append(Section(own, attachment_title(chunk)))
    for item in items:
        item.section = numbers.get(item.section, own)
    for row in rows:
        row.section = own
    parts.entries += [*items, *rows]
    return True
