"""Where a piece of an item's text stands in the source: offsets through the lines it came from.

An item's text is its lines (the first without its marker) joined by newlines; each line knows
its offset in the text given to `parse_text`, so a position in the item maps back to the source.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict

from policies.lines import Line

_LOOKAHEAD = 64  # lines to look ahead for an item's next line before searching the whole text


class SourceMap:
    """Maps positions in item texts to offsets in the source, walking the lines in order."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        self.pos = 0
        self.by_raw: dict[str, list[Line]] = defaultdict(list)
        for line in lines:
            self.by_raw[line.raw].append(line)

    def item(self, raw: str) -> ItemMap:
        """Return the map of one item's text as written (lines joined by newlines)."""
        starts: list[int] = []
        offsets: list[int | None] = []
        at = 0
        for piece in raw.split("\n"):
            starts.append(at)
            offsets.append(self._find(piece))
            at += len(piece) + 1
        return ItemMap(starts, offsets)

    def _find(self, piece: str) -> int | None:
        for i in range(self.pos, min(self.pos + _LOOKAHEAD, len(self.lines))):
            line = self.lines[i]
            if line.raw.endswith(piece):
                self.pos = i + 1
                return line.offset + len(line.raw) - len(piece)
        same = self.by_raw.get(piece)
        return same[0].offset if same else None


class ItemMap:
    """Offsets in the source of positions in one item's text."""

    def __init__(self, starts: list[int], offsets: list[int | None]) -> None:
        self.starts, self.offsets = starts, offsets

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """Return the source span of `start:end` of the item's text, if known.

        Each end is mapped through its own line, so a piece over a line end (CRLF) still fits.
        """
        first, last = self._at(start), self._at(max(end - 1, start))
        if first is None or last is None:
            return None
        return first, last + (1 if end > start else 0)

    def _at(self, position: int) -> int | None:
        i = bisect_right(self.starts, position) - 1
        offset = self.offsets[i] if i >= 0 else None
        return None if offset is None else offset + position - self.starts[i]
