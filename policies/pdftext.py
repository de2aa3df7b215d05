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
_CJK_END_RE = re.compile(r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]$")
_DIGITS_RE = re.compile(r"\d+")


@dataclass(frozen=True)
class _Row:
    """One line of a page: text, left and right edges, font size; `fixed` for table rows."""

    text: str
    x0: float = 0.0
    x1: float = 0.0
    size: float = 0.0
    fixed: bool = True


def pdf_text(data: bytes, *, name: str) -> str:
    """Return the text of a text-layer PDF; raise PolicyParseError (scan, password, damage)."""
    page_count = _open_checks(data, name)
    deadline = time.monotonic() + TIME_LIMIT_S
    pages: list[list[_Row]] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages[:page_count]:
                if time.monotonic() > deadline:
                    raise PolicyParseError(
                        f"PDF 过于复杂，读取超时 / PDF took too long to read: {name}"
                    )
                pages.append(_page_rows(page))
    except PolicyParseError:
        raise
    except Exception as exc:  # pdfminer can fail anywhere on a damaged or hostile file
        raise PolicyParseError(
            f"PDF 文件已损坏，无法读取 / corrupt PDF ({type(exc).__name__}): {name}"
        ) from exc
    _fill_from_pdfium(data, pages)
    empty = sum(1 for rows in pages if not rows)
    if empty == len(pages) or (len(pages) >= 2 and empty * 2 > len(pages)):
        raise PolicyParseError(f"{SCANNED}（{empty}/{len(pages)} 页无文字）: {name}")
    return "\n".join(_reflow(_drop_furniture(pages)))


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


def _page_rows(page: Any) -> list[_Row]:
    """Return a page's lines outside tables and its table rows, in reading order (top down)."""
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]

    def outside(obj: dict[str, Any]) -> bool:
        return obj.get("object_type") != "char" or not any(_inside(obj, box) for box in boxes)

    placed: list[tuple[float, _Row]] = []
    for line in page.filter(outside).extract_text_lines(return_chars=True):
        size = float(line["chars"][0].get("size", 0.0)) if line["chars"] else 0.0
        placed.append((line["top"], _Row(line["text"], line["x0"], line["x1"], size, False)))
    for table in tables:
        for i, cells in enumerate(table.extract()):
            placed.append((table.bbox[1] + i * 1e-3, _Row(_row_text(cells))))
    placed.sort(key=lambda pair: pair[0])
    return [row for _, row in placed if row.text.strip()]


def _inside(obj: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
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
    """Join a wrapped line: no space between Chinese characters, one between words."""
    if _CJK_END_RE.search(left) or (right and _CJK_END_RE.match(right[0])):
        return left + right
    return f"{left} {right}"


def _fill_from_pdfium(data: bytes, pages: list[list[_Row]]) -> None:
    """Read with PDFium the pages where pdfminer found no text (fonts it cannot decode)."""
    if all(pages):
        return
    document = pdfium.PdfDocument(data)
    try:
        for i, rows in enumerate(pages):
            if rows:
                continue
            text = document[i].get_textpage().get_text_bounded()
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            pages[i] = [_Row(line.strip()) for line in lines if line.strip()]
    finally:
        document.close()


def _drop_furniture(pages: list[list[_Row]]) -> list[_Row]:
    """Drop page numbers and the header or footer line repeated at the edge of most pages."""
    edges = Counter(
        _DIGITS_RE.sub("#", row.text.strip())
        for rows in pages
        for row in {rows[0], rows[-1]}
        if rows
    )
    repeated = {text for text, n in edges.items() if n >= 2 and n * 2 >= len(pages)}
    out: list[_Row] = []
    for rows in pages:
        for i, row in enumerate(rows):
            at_edge = i in (0, len(rows) - 1)
            if PAGE_NUMBER_RE.match(row.text) or (
                at_edge and _DIGITS_RE.sub("#", row.text.strip()) in repeated
            ):
                continue
            out.append(row)
    return out


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
