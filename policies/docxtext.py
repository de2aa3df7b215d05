"""Read the text of a .docx: paragraphs one per line (list numbers written out), table rows as `cell | cell |` lines."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from policies.docxnumbering import ListNumbers
from policies.model import PolicyParseError
from policies.rowtext import row_lines

MAX_ENTRIES = 2000
MAX_DOCUMENT_XML = 32 * 1024 * 1024
MAX_UNPACKED = 128 * 1024 * 1024


def docx_text(data: bytes, *, name: str) -> str:
    """Return the body text of a Word .docx in reading order; raise PolicyParseError."""
    _check_archive(data, name)
    try:
        document = docx.Document(io.BytesIO(data))
        numbers = ListNumbers(document)
        lines = list(_blocks(document.iter_inner_content(), numbers))
    except PolicyParseError:
        raise
    except Exception as exc:  # a hostile package can fail anywhere inside python-docx or lxml
        raise PolicyParseError(
            f"Word 文档已损坏，无法读取 / corrupt .docx ({type(exc).__name__}): {name}"
        ) from exc
    text = "\n".join(lines)
    if not text.strip():
        raise PolicyParseError(f"Word 文档中没有文字 / the .docx holds no text: {name}")
    return text


def _check_archive(data: bytes, name: str) -> None:
    """Refuse zip bombs by the sizes the archive declares (reads never exceed them)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PolicyParseError(f"Word 文档已损坏 / corrupt .docx ({exc}): {name}") from exc
    document_xml = [i for i in infos if i.filename == "word/document.xml"]
    if (
        len(infos) > MAX_ENTRIES
        or sum(i.file_size for i in infos) > MAX_UNPACKED
        or sum(i.file_size for i in document_xml) > MAX_DOCUMENT_XML
    ):
        raise PolicyParseError(
            f"Word 文档解压后过大或条目过多，已拒绝 / .docx expands too much "
            f"(limits: {MAX_ENTRIES} entries, {MAX_UNPACKED // 2**20} MB): {name}"
        )


def _blocks(content: Iterator[Paragraph | Table], numbers: ListNumbers) -> Iterator[str]:
    for block in content:
        if isinstance(block, Paragraph):
            yield numbers.marker(block) + block.text
        else:
            yield from table_lines(block)


def table_lines(table: Table) -> Iterator[str]:
    """Yield one line per row; a row that is one merged cell (a caption) is a plain line."""
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a horizontally merged cell repeats itself
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text.split("\n"))
        yield from row_lines(cells)
