"""Tables flattened to text (分工表, 任务清单, 进展表): their rows, each one task.

Two shapes arrive. Cells separated by `|` or tabs, under a header row (序号 | 重点任务 | 牵头单位 |
责任单位 | 完成时限 |), a row on one line or its cells one per line each ending in `|`; and rows
of one line whose fields are separated by runs of spaces (13 推进老旧小区改造。 市住建局 各区政府
2024年底), with or without a header. A row number needs no punctuation after it. Each column's
heading gives what its cells hold; without a header the cells are read by what they look like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from policies.lines import Line
from policies.tablecells import Cell, looks_like_deadline, unit_cell

Kind = Literal["number", "task", "lead", "units", "co", "deadline", "other"]

_BAR_RE = re.compile(r" *\| *|\t")
_FIELD_SPLIT_RE = re.compile(r"[ \t\u3000]+")
_ROW_NUMBER_RE = re.compile(r"^(\d{1,3})[.．、]?$")
# A merged row over the rows below it: 一、智慧城市 / （一） 智慧城市 / 一 | 智慧城市.
_CN_HEADING_RE = re.compile(r"^[（(]?[一二三四五六七八九十]+[）)、.．]?")
_SPACED_ROW_RE = re.compile(r"^\d{1,3}[ \t\u3000]+\S")
# Under a header of a table split by spaces, a row number may carry a dot: 1. 推进… / 1．推进….
_TABLE_ROW_RE = re.compile(r"^\d{1,3}(?:[.．、][ \t\u3000]*|[ \t\u3000]+)(?=\S)")
_COLUMNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("number", re.compile(r"^(?:序号|编号|序|号|项次)$")),
    ("other", re.compile(r"领导|联系人|分值|备注|说明|进展|情况")),
    ("lead", re.compile(r"牵头")),
    ("co", re.compile(r"配合|协办|参与|协同|协助")),
    ("deadline", re.compile(r"时限|时间|期限|节点|进度")),
    ("units", re.compile(r"单位|部门|主体")),
    ("task", re.compile(r"任务|事项|内容|措施|工作|目标|指标|举措|项目|要求|标准|名称")),
)


@dataclass
class Row:
    """A row of a table: its number, its cells by the kind of their column, its group heading."""

    number: int | None
    cells: list[tuple[Kind, Cell]]
    group: str = ""
    lead_column: bool = False
    section: int = 0

    def task(self) -> Cell | None:
        """Return the task cell (the first one)."""
        return next((cell for kind, cell in self.cells if kind == "task"), None)

    @property
    def span(self) -> tuple[int, int]:
        """Return where the row stands in the source text."""
        return self.cells[0][1].span[0], self.cells[-1][1].span[1]


@dataclass
class _Table:
    """The header of a table being read and its rows so far."""

    kinds: list[Kind]
    headings: list[str]
    bars: bool
    trailing: bool = False
    rows: list[Row] = field(default_factory=list)
    group: str = ""

    @property
    def numbered(self) -> bool:
        """Return whether the first column holds the row numbers (序号)."""
        return bool(self.kinds) and self.kinds[0] == "number"

    def add(self, cells: list[Cell]) -> None:
        """Add a row of cells (a spaced row's surplus fields join its task); skip one without a task."""
        kinds = list(self.kinds)
        if len(cells) > len(kinds) and "task" in kinds:
            cells = _join_task_cells(cells, kinds)
        pairs = list(zip(kinds, cells, strict=False))
        number = _row_number(cells[0]) if self.numbered and cells else len(self.rows) + 1
        if any(kind == "task" and cell.text for kind, cell in pairs):
            lead = "lead" in kinds
            self.rows.append(Row(number, pairs, self.group, lead))


def _row_number(cell: Cell) -> int | None:
    m = _ROW_NUMBER_RE.match(cell.text)
    return int(m.group(1)) if m else None


def _join_task_cells(cells: list[Cell], kinds: list[Kind]) -> list[Cell]:
    """Join the surplus fields of a spaced row into its task cell (a task may hold spaces)."""
    at, extra = kinds.index("task"), len(cells) - len(kinds)
    return [*cells[:at], Cell.join(cells[at : at + extra + 1]), *cells[at + extra + 1 :]]


def _kind(heading: str) -> Kind:
    for kind, pattern in _COLUMNS:
        if pattern.search(heading):
            return kind
    return "other"


def _split(line: Line, pattern: re.Pattern[str], pos: int = 0) -> list[Cell]:
    """Return the cells of a line split at `pattern` (a trailing or leading separator opens none)."""
    cells: list[Cell] = []
    for m in pattern.finditer(line.text, pos):
        cells.append(Cell.of(line, pos, m.start()))
        pos = m.end()
    cells.append(Cell.of(line, pos, len(line.text)))
    if cells and not cells[-1].text:
        cells.pop()
    if cells and not cells[0].text and line.text.startswith("|"):
        cells.pop(0)
    return cells


def _has_bars(line: Line) -> bool:
    return "|" in line.text or "\t" in line.text


def header_of(line: Line) -> _Table | None:
    """Return a table opened by a header line (序号 重点任务 牵头单位 …), else None."""
    bars = _has_bars(line)
    cells = _split(line, _BAR_RE if bars else _FIELD_SPLIT_RE)
    headings = [c.text for c in cells]
    # Split by spaces a header needs three columns at least: two words could be a heading.
    if len(cells) < (2 if bars else 3) or any(len(h) > 12 for h in headings):
        return None
    kinds = [_kind(h) for h in headings]
    if "task" not in kinds or not {"lead", "units", "co"} & set(kinds):
        return None
    return _Table(kinds, headings, bars, line.text.rstrip().endswith("|"))


def find_rows(lines: list[Line]) -> tuple[list[Row], list[Line]]:
    """Return the table rows among `lines` and the lines that are not part of a table."""
    rows: list[Row] = []
    rest: list[Line] = []
    i = 0
    while i < len(lines):
        table = header_of(lines[i])
        if table is not None:
            i = _read_table(table, lines, i + 1)
            rows += table.rows
            continue
        row = _loose_row(lines[i])
        if row is not None:
            rows.append(row)
        else:
            rest.append(lines[i])
        i += 1
    return rows, rest


def _read_table(table: _Table, lines: list[Line], i: int) -> int:
    """Read the rows under a header; return the index of the first line after the table."""
    pending: list[Cell] = []
    width = len(table.kinds)
    while i < len(lines) and _in_table(table, lines, i, pending):
        line = lines[i]
        cells = _split(line, _BAR_RE) if table.bars else _spaced_cells(line)
        i += 1
        again = [c.text for c in cells] == table.headings  # the header again, on a new page
        caption = table.bars and not _has_bars(line) and not pending  # a merged row, plain
        if again or caption or _heading_row(table, cells, pending):
            if pending:
                table.add(pending)
                pending = []
            table.group = (
                table.group if again else " ".join(dict.fromkeys(c.text for c in cells if c.text))
            )
            continue
        # A line of several cells that ends in `|` is a whole row (as .docx and PDF tables come).
        whole = table.trailing and len(cells) >= 2 and line.text.endswith("|")
        if pending and (whole or _starts_row(table, cells)):
            table.add(pending)
            pending = []
        pending = _carry(pending, cells)
        # Cells that each end in `|`: a line without one runs on into the next line. A row of
        # one line: a line that starts no row continues the row's last cell.
        pending[-1].open = not line.text.endswith("|") if table.trailing else table.bars
        if not table.bars or whole or (table.trailing and len(pending) >= width):
            table.add(pending[:width] if table.trailing else pending)
            pending = []
    if pending:
        table.add(pending)
    return i


def _spaced_cells(line: Line) -> list[Cell]:
    """Return the cells of a row split by spaces, its number cut off the task it may touch."""
    m = _TABLE_ROW_RE.match(line.text)
    if m is None:
        return _split(line, _FIELD_SPLIT_RE)
    return [Cell.of(line, 0, m.end()), *_split(line, _FIELD_SPLIT_RE, m.end())]


def _in_table(table: _Table, lines: list[Line], i: int, pending: list[Cell]) -> bool:
    """Return whether line i still belongs to the table (a plain line before a row: a caption)."""
    line = lines[i]
    if not table.bars:
        return _TABLE_ROW_RE.match(line.text) is not None
    if _has_bars(line) or (table.trailing and bool(pending)):
        return True
    following = lines[i + 1] if i + 1 < len(lines) else None
    return following is not None and _has_bars(following) and header_of(following) is None


def _heading_row(table: _Table, cells: list[Cell], pending: list[Cell]) -> bool:
    """Return whether a line is a merged row over the rows below it (一、智慧城市)."""
    texts = list(dict.fromkeys(c.text for c in cells if c.text))
    if not texts or _row_number(cells[0]) is not None:
        return False
    if len(texts) == 2 and table.numbered and _CN_HEADING_RE.fullmatch(texts[0]):
        return not pending
    # One cell alone is a heading only between the rows of a numbered table.
    return len(texts) == 1 and (len(cells) > 1 or (table.numbered and not pending))


def _starts_row(table: _Table, cells: list[Cell]) -> bool:
    if table.numbered:
        return _row_number(cells[0]) is not None
    return not table.trailing and len(cells) >= 2


def _carry(pending: list[Cell], cells: list[Cell]) -> list[Cell]:
    """Add a line's cells to the row being read, the first one continuing an open cell."""
    if pending and pending[-1].open and cells:
        return [*pending[:-1], Cell.join([pending[-1], cells[0]]), *cells[1:]]
    return pending + cells


def _loose_row(line: Line) -> Row | None:
    """Return a row without a header (13 推进…。 市住建局 各区政府 2024年底), read by its fields."""
    if not _SPACED_ROW_RE.match(line.text) and not (_has_bars(line) and line.text[:1].isdigit()):
        return None
    cells = _split(line, _BAR_RE if _has_bars(line) else _FIELD_SPLIT_RE)
    if len(cells) < 3 or _row_number(cells[0]) is None:
        return None
    kinds: list[Kind] = ["number", "task"]
    for cell in cells[2:]:
        if looks_like_deadline(cell.text):
            kinds.append("deadline")
        elif unit_cell(cell.text):
            kinds.append("units" if "units" not in kinds else "co")
        else:
            kinds.append("other")
    if "units" not in kinds:
        return None
    return Row(_row_number(cells[0]), list(zip(kinds, cells, strict=True)), "", False)
