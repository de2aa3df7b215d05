"""Read the text layer of a PDF: paragraphs rejoined, tables row by row, page furniture dropped.

pdfplumber gives lines with their positions and finds ruled tables; a line that runs to the right
margin continues on the next one unless that one is indented or numbered. PDFium opens the file
first (fast checks: password, damage, page count) and reads pages whose fonts pdfminer cannot
decode. A PDF without any text layer is a scan, and the message says so.
"""

from __future__ import annotations

import io
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

MAX_PAGES = 500
TIME_LIMIT_S = 120.0
SCANNED = "PDF 没有文字层（可能是扫描件），请先进行文字识别（OCR）或上传文字版 / PDF has no text layer (scanned?)"
_DIGITS_RE = re.compile(r"\d+")
_LATIN_END_RE = re.compile(r"[A-Za-z]$")
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
    page_count = _open_checks(data, name)
    deadline = time.monotonic() + TIME_LIMIT_S
    pages: list[list[_Row]] = []
    heights: list[float] = []
    fallback = pdfium.PdfDocument(data)
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page, twin in zip(pdf.pages[:page_count], fallback, strict=False):
                if time.monotonic() > deadline:
                    raise PolicyParseError(
                        f"PDF 过于复杂，读取超时 / PDF took too long to read: {name}"
                    )
                pages.append(_page_rows(page, twin))
                heights.append(float(page.height))
    except PolicyParseError:
        raise
    except Exception as exc:  # pdfminer can fail anywhere on a damaged or hostile file
        raise PolicyParseError(
            f"PDF 文件已损坏，无法读取 / corrupt PDF ({type(exc).__name__}): {name}"
        ) from exc
    finally:
        fallback.close()
    empty = sum(1 for rows in pages if not rows)
    if empty == len(pages) or (len(pages) >= 2 and empty * 2 > len(pages)):
        raise PolicyParseError(f"{SCANNED}（{empty}/{len(pages)} 页无文字）: {name}")
    pages = _drop_furniture(pages)
    pages = [
        _margin_notes_dropped(rows, height) for rows, height in zip(pages, heights, strict=True)
    ]
    return "\n".join(_reflow([row for rows in pages for row in rows]))


def _open_checks(data: bytes, name: str) -> int:
    """Open with PDFium: refuse a password, damage or too many pages; return the page count."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise PolicyParseError(
                f"PDF 已加密（需要密码），请解除密码后再上传 / encrypted PDF (password required): {name}"
            ) from exc
        raise PolicyParseError(f"PDF 文件已损坏，无法读取 / corrupt PDF: {name}") from exc
    try:
        count = len(document)
    finally:
        document.close()
    if count == 0:
        raise PolicyParseError(f"PDF 没有页面 / the PDF has no pages: {name}")
    if count > MAX_PAGES:
        raise PolicyParseError(
            f"PDF 页数过多 / too many pages: {count} (limit {MAX_PAGES}): {name}"
        )
    return count


def _page_rows(page: Any, twin: Any) -> list[_Row]:
    """Return a page's lines outside tables and its table rows, in reading order (top down).

    Pages whose fonts pdfminer cannot decode (no chars) are read through PDFium, `twin`.
    """
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    textpage = None if page.chars else twin.get_textpage()
    if textpage is None:
        placed = _plumber_lines(page, boxes)
    else:
        placed = _pdfium_lines(textpage, float(page.height), boxes)
    for table in tables:
        if textpage is None:
            rows = table.extract()
        else:
            rows = [
                [_bounded(textpage, float(page.height), c) for c in r.cells] for r in table.rows
            ]
        for i, cells in enumerate(rows):
            placed.append(_Row(_row_text(cells), top=table.bbox[1] + i * 1e-3))
    placed.sort(key=lambda row: row.top)
    return [row for row in placed if row.text.strip()]


def _plumber_lines(page: Any, boxes: list[_Box]) -> list[_Row]:
    def outside(obj: dict[str, Any]) -> bool:
        return obj.get("object_type") != "char" or not any(_inside(obj, box) for box in boxes)

    rows = []
    for line in page.filter(outside).extract_text_lines(return_chars=True):
        size = float(line["chars"][0].get("size", 0.0)) if line["chars"] else 0.0
        rows.append(_Row(line["text"], line["top"], line["x0"], line["x1"], size, False))
    return rows


def _pdfium_lines(textpage: Any, height: float, boxes: list[_Box]) -> list[_Row]:
    """Return PDFium's text runs merged into lines (runs sharing a baseline)."""
    runs = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        obj = {"x0": left, "x1": right, "top": height - top, "bottom": height - bottom}
        text = textpage.get_text_bounded(left, bottom, right, top).strip()
        if text and not any(_inside(obj, box) for box in boxes):
            runs.append(_Row(text, height - top, left, right, top - bottom, False))
    lines: list[_Row] = []
    for run in sorted(runs, key=lambda r: (round(r.top / max(r.size, 1.0) * 2), r.x0)):
        last = lines[-1] if lines else None
        if last and abs(last.top - run.top) < 0.5 * max(run.size, 1.0) and run.x0 >= last.x1:
            lines[-1] = _Row(
                _join(last.text, run.text), last.top, last.x0, run.x1, last.size, False
            )
        else:
            lines.append(run)
    return lines


def _bounded(textpage: Any, height: float, box: _Box | None) -> str | None:
    if box is None:
        return None
    x0, top, x1, bottom = box
    return str(textpage.get_text_bounded(x0, height - bottom, x1, height - top))


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


def _row_text(cells: list[str | None]) -> str:
    """Join a table row's cells with ` | `; a cell's wrapped lines are rejoined."""
    texts = [_unwrap(cell) for cell in cells if cell is not None]
    texts = [t for t in texts if t] if sum(1 for t in texts if t) == 1 else texts
    if not any(texts):
        return ""
    return texts[0] if len(texts) == 1 else " | ".join(texts) + " |"


def _unwrap(cell: str) -> str:
    out = ""
    for part in (p.strip() for p in cell.split("\n")):
        out = _join(out, part) if out else part
    return out


def _join(left: str, right: str) -> str:
    """Join a wrapped line: Chinese lines break anywhere (numbers too); Latin words at spaces."""
    if _LATIN_END_RE.search(left) and right[:1].isascii() and right[:1].isalpha():
        return f"{left} {right}"
    return left + right


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


def _reflow(rows: list[_Row]) -> list[str]:
    """Rejoin a paragraph's lines: one reaching the right margin goes on, unless the next starts anew."""
    right = max((row.x1 for row in rows if not row.fixed), default=0.0)
    left = min((row.x0 for row in rows if not row.fixed), default=0.0)
    out: list[str] = []
    previous: _Row | None = None
    for row in rows:
        text = row.text.strip()
        if previous is not None and _continues(previous, row, left, right):
            out[-1] = _join(out[-1], text)
        else:
            out.append(text)
        previous = row
    return out


def _continues(previous: _Row, row: _Row, left: float, right: float) -> bool:
    if previous.fixed or row.fixed:
        return False
    em = max(previous.size, row.size, 1.0)
    full = previous.x1 >= right - 1.5 * em
    flush_left = row.x0 <= left + 0.5 * em
    return full and flush_left and Line(row.text, row.text).marker is None
