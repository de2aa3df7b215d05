"""Cells of a flattened table: where a cell stands in the source, the unit names and deadline it
holds, and a table row made an item (its units' roles from the column headings)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from policies.deadlines import find_deadlines
from policies.doubts import role_guessed, unknown_unit
from policies.lines import Line
from policies.model import Doubt, Item, Unit, UnitRole
from policies.structure import heading
from policies.targets import item_targets
from policies.unitlists import RawUnit, read_bracket
from policies.unitnames import label_role
from policies.units import Registry, load_registry

if TYPE_CHECKING:
    from policies.tables import Row

_NAME_SPLIT_RE = re.compile(r"[、，,；;\s]")
_OPEN_RE = re.compile(r"等(?:有关|相关)?(?:部门|单位|部门和单位)?$")
_OWN_MARK_RE = re.compile(r"[（(](牵头|配合|参与|协助|协办)[）)]$")
_EMPTY_RE = re.compile(r"^[-—－/／无\s]*$")
_TIME_WORDS_RE = re.compile(r"\d{4}年|\d{1,2}月|季度|年底|年内|长期|持续|常态|每年|每月")


@dataclass
class Cell:
    """A cell's text (Simplified) and its pieces in the source: (offset, as written) per line."""

    text: str
    pieces: list[tuple[int, str]]
    open: bool = field(default=False)

    @classmethod
    def of(cls, line: Line, start: int, end: int) -> Cell:
        """Return the cell of `line` between two positions of its text, spaces trimmed."""
        while start < end and line.text[start].isspace():
            start += 1
        while end > start and line.text[end - 1].isspace():
            end -= 1
        return cls(line.text[start:end], [(line.offset + start, line.raw[start:end])])

    @classmethod
    def join(cls, cells: list[Cell]) -> Cell:
        """Return one cell of several (a cell that runs over lines, a task that held spaces)."""
        return cls("\n".join(c.text for c in cells), [p for c in cells for p in c.pieces])

    @property
    def raw(self) -> str:
        """Return the cell as written, aligned with `text`."""
        return "\n".join(text for _, text in self.pieces)

    @property
    def span(self) -> tuple[int, int]:
        """Return where the cell stands in the source text."""
        return self.pieces[0][0], self.pieces[-1][0] + len(self.pieces[-1][1])

    def source(self, position: int) -> int:
        """Return the source offset of a position in the cell's text."""
        for offset, text in self.pieces:
            if position <= len(text):
                return offset + position
            position -= len(text) + 1
        return self.span[1]


def names_in(text: str) -> list[tuple[int, int, UnitRole | None, bool]]:
    """Return the unit names of a cell, a bare list split at 、，,； and spaces outside brackets.

    Each as (start, end, role its own mark gives or None, whether the list ends in 等); a name
    keeps its brackets (各县（市、区）政府, 县水利局（河长办）).
    """
    out: list[tuple[int, int, UnitRole | None, bool]] = []
    for start, end in _outside_brackets(text):
        name = _name(text, start, end)
        if name[0] < name[1]:
            out.append(name)
    return out


def _outside_brackets(text: str) -> list[tuple[int, int]]:
    """Return the spans between separators that stand outside brackets."""
    spans, start, depth = [], 0, 0
    for i, char in enumerate(text):
        depth = max(depth + (char in "（(〔[【") - (char in "）)〕]】"), 0)
        if depth == 0 and _NAME_SPLIT_RE.fullmatch(char):
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if s < e]


def _name(text: str, start: int, end: int) -> tuple[int, int, UnitRole | None, bool]:
    role: UnitRole | None = None
    mark = _OWN_MARK_RE.search(text, start, end)
    if mark is not None and mark.end() == end:
        role, end = ("lead" if mark.group(1) == "牵头" else "co"), mark.start()
    opened = _OPEN_RE.search(text, start, end)
    if opened is not None and opened.end() == end:
        end = opened.start()
    return start, end, role, opened is not None


def unit_cell(text: str, registry: Registry | None = None) -> bool:
    """Return whether a cell without a heading reads as a list of unit names.

    Read as a list placed where unit lists stand: every part must be shaped like a name.
    """
    bracket = read_bracket(text, (0, len(text)), registry or load_registry(), closing=True)
    return bracket is not None and bool(bracket.units)


def looks_like_deadline(text: str) -> bool:
    """Return whether a cell without a heading gives a time limit (2024年底, 长期坚持)."""
    return len(text) <= 20 and _TIME_WORDS_RE.search(text) is not None


# The column's heading given to the unit reader as the cell's label: a 责任单位 column names the
# others when the table has a 牵头单位 column.
_COLUMN_LABELS = {"lead": "牵头单位：", "co": "配合单位：", "units": "责任单位："}


def row_units(row: Row, registry: Registry) -> tuple[list[Unit], bool]:
    """Return the units of a row's unit cells and whether a list is open-ended (等)."""
    units: list[Unit] = []
    opened = False
    for kind, cell in row.cells:
        if kind not in _COLUMN_LABELS or _EMPTY_RE.match(cell.text):
            continue
        label = _COLUMN_LABELS["co" if kind == "units" and row.lead_column else kind]
        found, open_ended = _cell_units(label, cell.text, registry)
        opened = opened or open_ended
        for unit in found:
            doubts = [role_guessed()] if unit.guessed else []
            _add(units, _unit(cell, unit, registry, doubts))
    if units and all(u.role == "co" for u in units):
        # The lead cell is empty: the first unit listed leads (DESIGN's rule), as a guess.
        units[0] = replace(units[0], role="lead", doubts=(role_guessed(), *units[0].doubts))
    return units, opened


def _cell_units(label: str, text: str, registry: Registry) -> tuple[list[RawUnit], bool]:
    """Return the units of a cell read as a list under its column's label, spans in the cell.

    A cell the reader refuses still keeps every name as written (split at 、，；), never dropped.
    """
    labelled = label + text
    bracket = read_bracket(labelled, (0, len(labelled)), registry)
    if bracket is not None and bracket.units:
        shift = len(label)
        units = [replace(u, start=u.start - shift, end=u.end - shift) for u in bracket.units]
        return units, bracket.open_ended
    role = label_role(label) or "lead"
    names = names_in(text)
    return [RawUnit(s, e, own or role) for s, e, own, _ in names], any(o for *_, o in names)


def _unit(cell: Cell, found: RawUnit, registry: Registry, doubts: list[Doubt]) -> Unit:
    as_written = cell.raw[found.start : found.end]
    resolved = registry.resolve(as_written)
    if not resolved.known:
        doubts = [*doubts, unknown_unit(as_written)]
    return Unit(
        resolved.name,
        as_written,
        found.role,
        resolved.known,
        resolved.code,
        collective=found.collective,
        span=(cell.source(found.start), cell.source(found.end)),
        doubts=tuple(doubts),
    )


def _add(units: list[Unit], unit: Unit) -> None:
    """Add a unit once, in order; a unit that is lead in any column stays lead."""
    for i, seen in enumerate(units):
        if seen.name == unit.name:
            if unit.role == "lead" and seen.role != "lead":
                units[i] = replace(seen, role="lead")
            return
    units.append(unit)


def row_item(
    row: Row, registry: Registry, *, section: int, year: int | None, transition: int | None
) -> Item:
    """Return the item of a table row: title the task's first sentence, units, deadlines, span."""
    task = row.task()
    title, rest = heading(task.text) if task else ("", "")
    # Further task columns (具体措施, 工作目标) are the body of the row's task.
    more = [cell.text for kind, cell in row.cells if kind == "task" and cell is not task]
    body = "\n".join(t for t in [rest, *more] if t)
    units, opened = row_units(row, registry)
    deadlines = []
    for kind, cell in row.cells:
        if kind == "deadline":
            deadlines += find_deadlines(f"完成时限：{cell.text}", year=year, transition=transition)
    if not deadlines and task is not None:
        deadlines = find_deadlines(task.text, year=year, transition=transition)
    number_cell = next((c for k, c in row.cells if k == "number"), None)
    targets = [
        target
        for kind, cell in row.cells
        if kind == "task"
        for target in item_targets(
            cell.text,
            cell.raw,
            _span_in(cell),
            year=year,
            transition=transition,
            deadlines=deadlines,
        )
    ]
    return Item(
        number=row.number or 0,
        section=section,
        title=title.rstrip("．.;；，,"),
        body=body,
        units=tuple(units),
        open_ended=opened,
        deadlines=tuple(dict.fromkeys(deadlines)),
        label=number_cell.text if number_cell else "",
        group=row.group,
        span=(task.span[0], row.span[1]) if task else row.span,
        targets=tuple(targets),
    )


def _span_in(cell: Cell) -> Callable[[int, int], tuple[int, int]]:
    """Return the map of a span of the cell's text to the source."""
    return lambda start, end: (cell.source(start), cell.source(end))
