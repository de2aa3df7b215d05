"""Write an extracted table row as text lines, in the shapes the table reader (policies.tables) reads."""

from __future__ import annotations


def row_lines(cells: list[list[str]]) -> list[str]:
    """Return a row's lines: `a | b | c |` on one line, or one cell per line when a cell breaks.

    `cells` holds each cell's lines. A line break inside a cell (a task's title over its details)
    is kept as the cell-per-line shape writes it: each cell's lines, the last one ending in ` |`.
    Joining them would run the title into the details. A row with an empty cell stays on one line
    (a cell-per-line row has no way to write an empty cell).
    """
    texts = [[part for part in (p.strip() for p in cell) if part] for cell in cells]
    if not any(texts):
        return []
    if len(texts) > 1 and all(texts) and any(len(t) > 1 for t in texts):
        return [line for t in texts for line in [*t[:-1], f"{t[-1]} |"]]
    joined = [" ".join(t) for t in texts]
    return [joined[0] if len(joined) == 1 else " | ".join(joined) + " |"]
