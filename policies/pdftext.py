"""Read the text layer of a PDF: paragraphs rejoined, tables row by row, page furniture dropped.

PDFium (C, fast) opens the file, refuses passwords, damage and too many pages, and gives each page's
text runs with their positions; runs on one baseline make a line. pdfplumber finds the ruled tables,
only on pages that draw lines at all (it parses a page in Python, ~35 times slower), and their cells
are read from PDFium's characters, where a line break in a cell is told from wrapping
(policies.pdfcells). A line that runs to the right margin continues on the next one unless
that one is indented or numbered; a document whose longest line stops short of the margin has no
wrapped lines. A PDF without a text layer is a scan, and the message says so.
"""

from __future__ import annotations

import io
import itertools
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from policies.exports import PAGE_NUMBER_RE
from policies.lines import Line
from policies.model import PolicyParseError
from policies.pdfcells import PageChars, cell_lines, join_wrapped, page_chars
from policies.rowtext import row_lines

MAX_PAGES = 500
TIME_LIMIT_S = 60.0
MAX_PATHS = 3000
SCANNED = "PDF 没有文字层（{empty}/{pages} 页无文字，可能是扫描件），请先进行文字识别（OCR）或上传文字版 / PDF has no text layer (scanned?)"
_DIGITS_RE = re.compile(r"\d+")
_Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Row:
    """One line of a page: its text, edges and font size; `fixed` for table rows (never joined)."""

    text: str
    top: float = 0.0
    x0: float = 0.0
    x1: float = 0.0
    size: float = 0.0
    fixed: bool = True


def pdf_text(data: bytes, *, name: str) -> str:
    """Return the text of a text-layer PDF; raise PolicyParseError (scan, password, damage)."""
    document = _open(data, name)
    try:
        pages, heights = _read_pages(document, data, name)
        width = max(float(document.get_page_size(i)[0]) for i in range(len(document)))
    except PolicyParseError:
        raise
    except Exception as exc:  # the table finder can fail anywhere on a damaged or hostile file
        raise PolicyParseError(
            f"PDF 文件已损坏，无法读取 / corrupt PDF ({type(exc).__name__}): {name}"
        ) from exc
    finally:
        document.close()
    empty = sum(1 for rows in pages if not rows)
    if empty == len(pages) or (len(pages) >= 2 and empty * 2 > len(pages)):
        raise PolicyParseError(f"{SCANNED.format(empty=empty, pages=len(pages))}: {name}")
    pages = _drop_furniture(pages)
    pages = [
        _margin_notes_dropped(rows, height) for rows, height in zip(pages, heights, strict=True)
    ]
    return "\n".join(_reflow([row for rows in pages for row in rows], width))


def _open(data: bytes, name: str) -> Any:
    """Open with PDFium: refuse a password, damage, no pages or too many pages."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise PolicyParseError(
                f"PDF 已加密（需要密码），请解除密码后再上传 / encrypted PDF (password required): {name}"
            ) from exc
        raise PolicyParseError(f"PDF 文件已损坏，无法读取 / corrupt PDF: {name}") from exc
    count = len(document)
    if 0 < count <= MAX_PAGES:
        return document
    document.close()
    if count == 0:
        raise PolicyParseError(f"PDF 没有页面 / the PDF has no pages: {name}")
    raise PolicyParseError(f"PDF 页数过多 / too many pages: {count} (limit {MAX_PAGES}): {name}")


def _read_pages(document: Any, data: bytes, name: str) -> tuple[list[list[_Row]], list[float]]:
    """Return each page's rows and height, within the time limit."""
    deadline = time.monotonic() + TIME_LIMIT_S
    pages: list[list[_Row]] = []
    heights: list[float] = []
    plumber = None
    try:
        for i, page in enumerate(document):
            if time.monotonic() > deadline:
                raise PolicyParseError(
                    f"PDF 过于复杂，读取超时 / PDF took too long to read: {name}"
                )
            tables: list[Any] = []
            if _draws_lines(page):
                plumber = plumber or pdfplumber.open(io.BytesIO(data))
                tables = plumber.pages[i].find_tables()
            height = float(page.get_height())
            pages.append(_page_rows(page.get_textpage(), height, tables))
            heights.append(height)
    finally:
        if plumber is not None:
            plumber.close()
    return pages, heights


def _draws_lines(page: Any) -> bool:
    """Return whether a page holds path objects (rules and boxes: where tables can be).

    A page of more than MAX_PATHS paths is a drawing, not a table; finding tables in it would
    take pdfplumber minutes.
    """
    paths = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,), max_depth=2)
    count = sum(1 for _ in itertools.islice(paths, MAX_PATHS + 1))
    return 0 < count <= MAX_PATHS


def _page_rows(textpage: Any, height: float, tables: list[Any]) -> list[_Row]:
    """Return a page's lines outside tables and its table rows, in reading order (top down)."""
    placed = _lines(textpage, height, [t.bbox for t in tables])
    chars = PageChars(page_chars(textpage, height) if tables else [])
    for table in tables:
        for i, row in enumerate(table.rows):
            band = chars.in_band(row.bbox[1], row.bbox[3])
            cells = [cell_lines(band, box) for box in row.cells if box is not None]
            placed.append(_Row(_row_text(cells), top=table.bbox[1] + i * 1e-3))
    placed.sort(key=lambda row: row.top)
    return [row for row in placed if row.text.strip()]


def _lines(textpage: Any, height: float, boxes: list[_Box]) -> list[_Row]:
    """Return PDFium's text runs merged into lines (runs sharing a baseline)."""
    runs = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        obj = {"x0": left, "x1": right, "top": height - top, "bottom": height - bottom}
        text = textpage.get_text_bounded(left, bottom, right, top).strip()
        if text and not any(_inside(obj, box) for box in boxes):
            runs.append(_Row(text, height - top, left, right, top - bottom, False))
    lines: list[_Row] = []
    group: list[_Row] = []
    for run in sorted(runs, key=lambda r: r.top):
        if group and abs(group[0].top - run.top) >= 0.5 * max(run.size, 1.0):
            lines.append(_baseline(group))
            group = []
        group.append(run)
    return [*lines, _baseline(group)] if group else lines


def _baseline(runs: list[_Row]) -> _Row:
    """Join the runs of one line left to right; a wide gap (a borderless column) is two spaces."""
    runs = sorted(runs, key=lambda r: r.x0)
    text, columns = runs[0].text, False
    for previous, run in itertools.pairwise(runs):
        wide = run.x0 - previous.x1 > 1.5 * max(run.size, 1.0)
        text = f"{text}  {run.text}" if wide else join_wrapped(text, run.text)
        columns = columns or wide
    size = max(r.size for r in runs)
    # A line in columns is a table row: it is never joined to the next line.
    return _Row(text, runs[0].top, runs[0].x0, max(r.x1 for r in runs), size, columns)


def _margin_notes_dropped(rows: list[_Row], height: float) -> list[_Row]:
    """Drop a small-print first or last line in the page margin (a running header or footer)."""
    sizes = sorted(row.size for row in rows if not row.fixed and row.size)
    if len(rows) < 2 or not sizes:
        return rows
    body = sizes[len(sizes) // 2]

    def note(row: _Row, in_margin: bool) -> bool:
        return not row.fixed and in_margin and 0 < row.size < 0.85 * body

    start = 1 if note(rows[0], rows[0].top < 0.08 * height) else 0
    end = len(rows) - 1 if note(rows[-1], rows[-1].top > 0.92 * height) else len(rows)
    return rows[start:end]


def _inside(obj: dict[str, Any], box: _Box) -> bool:
    mid_x = (float(obj["x0"]) + float(obj["x1"])) / 2
    mid_y = (float(obj["top"]) + float(obj["bottom"])) / 2
    return box[0] <= mid_x <= box[2] and box[1] <= mid_y <= box[3]


def _row_text(cells: list[list[str]]) -> str:
    """Write a table row as the table reader reads it: `a | b |`, or a cell a line when one breaks.

    A row with one cell of text (a heading across the table) is that text alone.
    """
    if sum(1 for cell in cells if cell) == 1:
        cells = [cell for cell in cells if cell]
    return "\n".join(row_lines(cells))


def _drop_furniture(pages: list[list[_Row]]) -> list[list[_Row]]:
    """Drop page numbers, then the header or footer line repeated at the edge of most pages."""
    pages = [[row for row in rows if not PAGE_NUMBER_RE.match(row.text)] for rows in pages]
    edges = Counter(_shape(row) for rows in pages for row in {rows[0], rows[-1]} if rows)
    repeated = {text for text, n in edges.items() if n >= 2 and n * 2 >= len(pages)}
    out = []
    for rows in pages:
        start = 1 if rows and _shape(rows[0]) in repeated else 0
        end = len(rows) - 1 if len(rows) > start and _shape(rows[-1]) in repeated else len(rows)
        out.append(rows[start:end])
    return out


def _shape(row: _Row) -> str:
    return _DIGITS_RE.sub("#", row.text.strip())


def _reflow(rows: list[_Row], width: float) -> list[str]:
    """Rejoin a paragraph's lines: one reaching the right margin goes on, unless the next starts anew."""
    lines = [row for row in rows if not row.fixed]
    left = min((row.x0 for row in lines), default=0.0)
    right = _text_right(lines, left, width)
    out: list[str] = []
    previous: _Row | None = None
    for row in rows:
        text = row.text.strip()
        if previous is not None and _continues(previous, row, left, right):
            out[-1] = join_wrapped(out[-1], text)
        else:
            out.append(text)
        previous = row
    return out


def _text_right(lines: list[_Row], left: float, width: float) -> float:
    """Return the right edge of the text block, or infinity when no line shows where it is.

    The longest line marks the right margin only when it is there: near the left margin's mirror
    image, or reached by several lines. A document of short lines (labels, a title, rows split by
    spaces) has no wrapped line, and its longest line is not full.
    """
    right = max((row.x1 for row in lines), default=0.0)
    sizes = sorted(row.size for row in lines)
    em = max(sizes[len(sizes) // 2], 1.0) if sizes else 1.0
    reaching = sum(1 for row in lines if row.x1 >= right - em)
    if right >= width - left - 2 * em or reaching >= 3:
        return right
    return float("inf")


def _continues(previous: _Row, row: _Row, left: float, right: float) -> bool:
    if previous.fixed or row.fixed:
        return False
    em = max(previous.size, row.size, 1.0)
    full = previous.x1 >= right - 1.5 * em
    flush_left = row.x0 <= left + 1.0 * em  # an indent is 2 em; glyph boxes start late (（)
    return full and flush_left and Line(row.text, row.text).marker is None
