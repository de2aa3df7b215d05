"""Which blocks are sections, groups and items, decided where each block stands.

A block that carries units is an item (its sub-points are parts of it); a block above blocks with
units is a group, and a group at the top is a section; a heading whose paragraphs each carry units
is a group of paragraph items. Where no block of a part carries units, the numbering level with
the most unit brackets in the whole document holds the items, as it does in documents whose items
all sit at one depth.
"""

from __future__ import annotations

from typing import Literal

from policies.lines import Line
from policies.model import Section
from policies.paragraphs import enumerated_parts, enumerates, names_units, task_paragraphs
from policies.structure import (
    Block,
    RawItem,
    drop_closing_text,
    heading,
    item_level,
    loose_runs,
    tree,
)
from policies.unitlists import UnitBracket, read_brackets
from policies.units import Registry

Kind = Literal["item", "group", "none"]


class _Outliner:
    """Walks the tree of blocks and collects sections and items."""

    def __init__(self, registry: Registry, blocks: list[Block]) -> None:
        self.registry = registry
        self.sections: list[Section] = []
        self.items: list[RawItem] = []
        # Each block's text is read once: whether it holds a list, and whether that names units.
        self._lists: dict[int, list[UnitBracket]] = {
            id(b): read_brackets(b.text, registry) for b in blocks
        }
        self._units: dict[int, bool] = {}
        self._below: dict[int, bool] = {}
        self.level = item_level(blocks, lambda b: bool(self._lists[id(b)])) if blocks else 0

    def units(self, block: Block) -> bool:
        """Return whether the block's own text carries units."""
        if id(block) not in self._units:
            lists = self._lists.get(id(block))
            if lists is None:
                self._units[id(block)] = names_units(block.text, self.registry)
            else:
                self._units[id(block)] = any(b.units or b.declared for b in lists)
        return self._units[id(block)]

    def below(self, block: Block) -> bool:
        """Return whether the block or a block numbered under it carries units."""
        if id(block) not in self._below:
            self._below[id(block)] = self.units(block) or any(self.below(c) for c in block.children)
        return self._below[id(block)]

    def kind(self, block: Block) -> Kind:
        """Return what a block is by its own units and those of the blocks under it."""
        head = block.head.text[len(block.label) :]
        if len(task_paragraphs(block.rest, self.registry)) >= 2 and not names_units(
            head, self.registry
        ):
            return "group"
        if enumerated_parts([block.head, *block.rest], self.registry):
            return "group"
        with_units = [c for c in block.children if self.below(c)]
        if self.units(block):
            return "group" if len(with_units) >= 2 else "item"
        if not with_units:
            return "none"
        # 1．…：（1）…；（2）…。（责任单位：X）: the units of the last point cover the whole item.
        if with_units == block.children[-1:] and _one_sentence(block):
            return "item"
        return "group"

    def walk(self, blocks: list[Block], section: int | None, group: str) -> None:
        """Collect the items and sections of sibling blocks (section None: at the top)."""
        kinds = [self.kind(b) for b in blocks]
        tasks_here = any(k == "item" for k in kinds)
        for block, kind in zip(blocks, kinds, strict=True):
            if kind == "none":
                kind = "item" if tasks_here or block.level >= self.level else "group"
            if kind == "item":
                number = section if section is not None else self._last_section()
                self.items.append(RawItem(block, number, group, block.descendants()))
                continue
            title = heading(block.text)[0]
            if section is None:
                self.sections.append(Section(block.number, title))
            inner, name = (block.number, "") if section is None else (section, title)
            self.own_items(block, inner, name)
            self.walk(block.children, inner, name)

    def own_items(self, block: Block, section: int, group: str) -> None:
        """Collect the items in a group's own text: its 一是…二是… parts, else its task paragraphs."""
        if not self.part_items([block.head, *block.rest], section, group):
            self.paragraph_items(block.rest, section, group)

    def part_items(self, lines: list[Line], section: int, group: str) -> bool:
        """Collect the parts 一是…二是… that each carry units as items; return whether any."""
        parts = enumerated_parts(lines, self.registry)
        for number, (label, line) in enumerate(parts, start=1):
            self.items.append(RawItem(Block(0, number, label, line), section, group))
        return bool(parts)

    def paragraph_items(self, lines: list[Line], section: int, group: str) -> None:
        """Collect the unnumbered paragraphs with units of their own as items (or their parts)."""
        for number, paragraph in enumerate(task_paragraphs(lines, self.registry), start=1):
            title = heading(paragraph[0].text)[0]
            if not self.part_items(paragraph, section, title):
                block = Block(0, number, "", paragraph[0], paragraph[1:])
                self.items.append(RawItem(block, section, group))

    def mark_among_tasks(self) -> None:
        """Mark the items without units that stand in a section whose other items have units.

        Those read like tasks whose units were missed; the general part of a document (总体要求)
        and a section without any task are context, not tasks.
        """
        with_units = {item.section for item in self.items if self.below(item.block)}
        for item in self.items:
            item.among_tasks = item.section in with_units and not self.below(item.block)

    def _last_section(self) -> int:
        return self.sections[-1].number if self.sections else 0


def _one_sentence(block: Block) -> bool:
    """Return whether the sub-points of a block continue one sentence (…：（1）…；（2）…。)."""
    before = block.children[:-1]
    return bool(before) and all(enumerates((c.rest[-1] if c.rest else c.head).text) for c in before)


def outline(
    blocks: list[Block], registry: Registry, lines: list[Line]
) -> tuple[list[Section], list[RawItem]]:
    """Return the sections and the raw items of the blocks and of the paragraphs outside them.

    Paragraphs that no numbered block holds (a document without numbers, a preamble) are items
    when they carry units of their own.
    """
    walker = _Outliner(registry, blocks)
    walker.walk(tree(blocks), None, "")
    drop_closing_text(walker.items)
    for run in loose_runs(lines, blocks):
        walker.paragraph_items(run, 0, "")
    walker.items.sort(key=lambda item: item.span[0])
    walker.mark_among_tasks()
    return walker.sections, walker.items
