"""The outline of a policy: which numbering level holds sections, groups and items."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from policies.lines import Line
from policies.model import Section
from policies.unitlists import read_brackets
from policies.units import Registry

_STOPS = "。：:\n"


@dataclass
class Block:
    """A marker line and the unnumbered lines that continue it."""

    level: int
    number: int
    label: str
    head: Line
    rest: list[Line] = field(default_factory=list)

    @property
    def raw(self) -> str:
        """Return the block's text as written (marker cut off), lines joined by newlines."""
        return "\n".join([self.head.raw[len(self.label) :], *(ln.raw for ln in self.rest)])

    @property
    def text(self) -> str:
        """Return the block's text folded to Simplified, aligned with `raw`."""
        return "\n".join([self.head.text[len(self.label) :], *(ln.text for ln in self.rest)])


@dataclass
class RawItem:
    """An item before its units are resolved."""

    block: Block
    section: int
    group: str
    extra: list[Block] = field(default_factory=list)

    @property
    def raw(self) -> str:
        """Return the item's whole text as written, sub-points included."""
        return "\n".join(
            [self.block.raw, *(b.head.raw[: len(b.label)] + b.raw for b in self.extra)]
        )

    @property
    def text(self) -> str:
        """Return the item's whole text in Simplified, aligned with `raw`."""
        return "\n".join(
            [self.block.text, *(b.head.text[: len(b.label)] + b.text for b in self.extra)]
        )


def heading(text: str) -> tuple[str, str]:
    """Split a marker line's text into its title (to the first 。) and the rest."""
    for i, char in enumerate(text):
        if char in _STOPS and i > 0:
            return text[:i].strip(), text[i + 1 :].strip()
    return text.strip().rstrip("；;，,"), ""


def blocks_of(lines: list[Line]) -> list[Block]:
    """Group lines into blocks; a date line or the issuer above it ends a block."""
    blocks: list[Block] = []
    current: Block | None = None
    for i, line in enumerate(lines):
        found = line.marker
        if found is not None:
            level, number, end = found
            current = Block(level, number, line.text[:end], line)
            blocks.append(current)
        elif line.is_date or (i + 1 < len(lines) and lines[i + 1].is_date and len(line.text) <= 25):
            current = None
        elif current is not None:
            current.rest.append(line)
    return blocks


def item_level(blocks: list[Block], registry: Registry) -> int:
    """Return the level whose blocks carry most unit brackets (else the second level present)."""
    levels = sorted({b.level for b in blocks})
    counts = Counter(b.level for b in blocks if read_brackets(b.text, registry))
    if counts:
        return max(levels, key=lambda lv: (counts[lv], -lv))
    return levels[1] if len(levels) > 1 else levels[0]


def outline(blocks: list[Block], registry: Registry) -> tuple[list[Section], list[RawItem]]:
    """Return the sections and the raw items of the blocks."""
    if not blocks:
        return [], []
    level = item_level(blocks, registry)
    top = min(b.level for b in blocks)
    sections: list[Section] = []
    items: list[RawItem] = []
    group = ""
    for block in blocks:
        if block.level == top and top < level:
            sections.append(Section(block.number, heading(block.text)[0]))
            group = ""
        elif block.level < level:
            group = heading(block.text)[0]
        elif block.level == level:
            section = sections[-1].number if sections else 0
            items.append(RawItem(block, section, group))
        elif items:
            items[-1].extra.append(block)
    _drop_closing_text(items)
    return sections, items


def _drop_closing_text(items: list[RawItem]) -> None:
    """Drop the paragraphs after the last item when every other item is a single paragraph.

    In such documents the unnumbered paragraphs at the end are the closing text, not the item.
    """
    if len(items) >= 3 and not any(i.block.rest or i.extra for i in items[:-1]):
        items[-1].block.rest.clear()
