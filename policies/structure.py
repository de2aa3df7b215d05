"""Blocks of a policy: numbered lines with the lines that continue them, nested by level; raw items."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from policies.lines import Line
from policies.spans import ItemMap

_STOPS = "。：:\n"
_UNIT_TAG_RE = re.compile(r"[（(][^（）()]*(?:单位|部门|负责|牵头|配合)[^（）()]*[）)][；;，,]?$")


@dataclass
class Block:
    """A marker line, the unnumbered lines that continue it, and the blocks numbered under it."""

    level: int
    number: int
    label: str
    head: Line
    rest: list[Line] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)

    @property
    def raw(self) -> str:
        """Return the block's text as written (marker cut off), lines joined by newlines."""
        return "\n".join([self.head.raw[len(self.label) :], *(ln.raw for ln in self.rest)])

    @property
    def text(self) -> str:
        """Return the block's text folded to Simplified, aligned with `raw`."""
        return "\n".join([self.head.text[len(self.label) :], *(ln.text for ln in self.rest)])

    def pieces(self, *, marker: bool) -> list[tuple[int, str]]:
        """Return (source offset, text as written) of each of the block's own lines."""
        cut = 0 if marker else len(self.label)
        head = (self.head.offset + cut, self.head.raw[cut:])
        return [head, *((ln.offset, ln.raw) for ln in self.rest)]

    def descendants(self) -> list[Block]:
        """Return the blocks numbered under this one, in document order."""
        out: list[Block] = []
        for child in self.children:
            out += [child, *child.descendants()]
        return out


@dataclass
class RawItem:
    """An item before its units are resolved."""

    block: Block
    section: int
    group: str
    extra: list[Block] = field(default_factory=list)
    among_tasks: bool = False

    @property
    def raw(self) -> str:
        """Return the item's whole text as written, sub-points included."""
        return "\n".join(text for _, text in self.pieces())

    @property
    def text(self) -> str:
        """Return the item's whole text in Simplified, aligned with `raw`."""
        return "\n".join(
            [self.block.text, *(b.head.text[: len(b.label)] + b.text for b in self.extra)]
        )

    def pieces(self) -> list[tuple[int, str]]:
        """Return (source offset, text as written) of the item's lines; `raw` joins them."""
        out = self.block.pieces(marker=False)
        for block in self.extra:
            out += block.pieces(marker=True)
        return out

    @property
    def span(self) -> tuple[int, int]:
        """Return where the item stands in the source text: its title to the end of its text."""
        pieces = self.pieces()
        start = pieces[0][0] + len(pieces[0][1]) - len(pieces[0][1].lstrip())
        return start, pieces[-1][0] + len(pieces[-1][1])

    def item_map(self) -> ItemMap:
        """Return the map of the item's text to the source, line by line."""
        pieces = self.pieces()
        starts = list(accumulate((len(text) + 1 for _, text in pieces[:-1]), initial=0))
        offsets: list[int | None] = [offset for offset, _ in pieces]
        return ItemMap(starts, offsets)


def heading(text: str) -> tuple[str, str]:
    """Split a marker line's text into its title (to the first 。 outside brackets) and the rest.

    A unit bracket that ends the title (做好工作（责任单位：X）) stays in the rest, not the title.
    """
    depth = 0
    for i, char in enumerate(text):
        depth += (char in "（(") - (char in "）)")
        if char in _STOPS and i > 0 and depth <= 0:
            return _untagged(text[:i].strip(), text[i + 1 :].strip(), char)
    return _untagged(text.strip().rstrip("；;，,"), "", "")


def _untagged(title: str, rest: str, stop: str) -> tuple[str, str]:
    m = _UNIT_TAG_RE.search(title)
    if m is None or m.start() == 0:
        return title, rest
    return title[: m.start()].rstrip("；;，,"), (title[m.start() :] + stop + rest).strip()


def blocks_of(lines: list[Line]) -> list[Block]:
    """Group lines into blocks; a date line or the issuer above it ends a block."""
    blocks: list[Block] = []
    current: Block | None = None
    for i, (line, found) in enumerate(zip(lines, markers(lines), strict=True)):
        if found is not None:
            level, number, end = found
            current = Block(level, number, line.text[:end], line)
            blocks.append(current)
        elif line.is_date or (i + 1 < len(lines) and lines[i + 1].is_date and len(line.text) <= 25):
            current = None
        elif current is not None:
            current.rest.append(line)
    return blocks


def loose_runs(lines: list[Line], blocks: list[Block]) -> list[list[Line]]:
    """Return the runs of lines that belong to no block (the preamble, text after a date line)."""
    taken = {id(line) for block in blocks for line in (block.head, *block.rest)}
    runs: list[list[Line]] = [[]]
    for line in lines:
        if id(line) in taken:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(line)
    return [run for run in runs if run]


def markers(lines: list[Line]) -> list[tuple[int, int, int] | None]:
    """Return each line's marker; a number before digits (5.100个) only where the numbering runs on.

    Such a number is an item when it follows the last 1.-style number (5 after 4, even in another
    group), or is 1 with a 2 next.
    """
    ahead = _next_item_numbers(lines)
    out: list[tuple[int, int, int] | None] = []
    last = 0
    for line, following in zip(lines, ahead, strict=True):
        found = line.marker
        loose = line.loose_marker if found is None else None
        if loose is not None and (loose[1] == last + 1 > 1 or (loose[1] == 1 and following == 2)):
            found = loose
        if found is not None and found[0] == 3:
            last = found[1]
        out.append(found)
    return out


def _next_item_numbers(lines: list[Line]) -> list[int | None]:
    """Return, for each line, the number of the next 1.-style marker before a higher marker."""
    out: list[int | None] = [None] * len(lines)
    following: int | None = None
    for i in range(len(lines) - 1, -1, -1):
        out[i] = following
        found = lines[i].marker or lines[i].loose_marker
        if found is not None:
            following = found[1] if found[0] == 3 else None if found[0] < 3 else following
    return out


def item_level(blocks: list[Block], bracketed: Callable[[Block], bool]) -> int:
    """Return the level whose blocks carry most unit brackets (else the second level present).

    `bracketed` tells whether a block's text holds a unit bracket or list.
    """
    levels = sorted({b.level for b in blocks})
    counts = Counter(b.level for b in blocks if bracketed(b))
    if counts:
        return max(levels, key=lambda lv: (counts[lv], -lv))
    return levels[1] if len(levels) > 1 else levels[0]


def tree(blocks: list[Block]) -> list[Block]:
    """Nest each block under the nearest block above it of a higher level; return the roots."""
    roots: list[Block] = []
    stack: list[Block] = []
    for block in blocks:
        block.children = []
        while stack and stack[-1].level >= block.level:
            stack.pop()
        (stack[-1].children if stack else roots).append(block)
        stack.append(block)
    return roots


def drop_closing_text(items: list[RawItem]) -> None:
    """Drop the paragraphs after the last item when every other item is a single paragraph.

    In such documents the unnumbered paragraphs at the end are the closing text, not the item.
    """
    if len(items) >= 3 and not any(i.block.rest or i.extra for i in items[:-1]):
        items[-1].block.rest.clear()
