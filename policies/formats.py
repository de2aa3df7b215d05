"""Turn a policy file of any accepted shape into the plain text the parser reads.

Accepted: plain text (UTF-8 with or without BOM, GB18030, UTF-16 with BOM), .docx, text-layer .pdf,
.html saved from a site (or its .mht web archive), and legal-database exports. The type is
decided by the content (magic bytes) and checked against the name's suffix; every refusal is one PolicyParseError line. Tables come out one line per
row with the cells separated by ` | `, so the parser reads them as any other flattened table.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import PurePath
from typing import Literal

from policies.decode import decode_policy_bytes
from policies.docxtext import docx_text
from policies.exports import clean_export
from policies.htmltext import html_text, looks_like_html, looks_like_mhtml, mhtml_text
from policies.model import PolicyParseError
from policies.pdftext import pdf_text

# The parser reads ~300k characters a second; a policy document is rarely 200k characters long.
MAX_TEXT_CHARS = 3_000_000
Kind = Literal["text", "docx", "pdf", "html", "mhtml"]
_LABELS: dict[str, str] = {
    "text": "文本 / text",
    "docx": "Word .docx",
    "pdf": "PDF",
    "html": "网页 / HTML",
    "mhtml": "网页存档 / MHTML",
}
_SUFFIX_KINDS: dict[str, Kind] = {
    ".txt": "text",
    ".text": "text",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".shtml": "html",
    ".xhtml": "html",
    ".mht": "mhtml",
    ".mhtml": "mhtml",
}
_OLD_WORD = "旧版 Word 文档（.doc）无法读取，请在 Word/WPS 中另存为 .docx 后上传 / old binary Word .doc: save it as .docx"
_OLE_DOCX = "文件是旧版 .doc 或加密的 Word 文档，请去除密码并另存为 .docx / old .doc or password-protected Word file: save it as .docx"
_UNSUPPORTED: dict[str, str] = {
    ".doc": _OLD_WORD,
    ".wps": "WPS 文档（.wps）无法读取，请另存为 .docx / WPS .wps file: save it as .docx",
    ".rtf": "RTF 文档无法读取，请另存为 .docx / RTF file: save it as .docx",
    ".odt": "ODT 文档无法读取，请另存为 .docx / ODT file: save it as .docx",
    ".xlsx": "不支持 Excel 表格（.xlsx），请上传政策文件正文 / Excel workbook not supported",
    ".xls": "不支持 Excel 表格（.xls），请上传政策文件正文 / Excel workbook not supported",
    ".pptx": "不支持演示文稿（.pptx） / PowerPoint file not supported",
    ".ppt": "不支持演示文稿（.ppt） / PowerPoint file not supported",
    ".zip": "不支持压缩包，请解压后上传其中的文件 / zip archive not supported: unpack it first",
    ".ofd": "不支持 OFD 版式文件，请另存为 PDF 或 .docx / OFD file not supported",
}
_IMAGE = (
    "图片文件（binary image），不是文字；请先进行文字识别（OCR）或上传文字版 / image file, not text"
)
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic"}
_IMAGE_MAGIC = (b"\x89PNG\r\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_PDF_RE = re.compile(rb"%PDF-")


def extract_text(data: bytes, *, name: str) -> str:
    """Return the text of a policy file's bytes (txt, docx, pdf, html); raise PolicyParseError."""
    if not data.strip():
        raise PolicyParseError(f"文件为空 / file is empty: {name}")
    suffix = PurePath(name).suffix.lower()
    refused = _refused(data, suffix)
    if refused:
        raise PolicyParseError(f"{refused}: {name}")
    kind = _kind(data, suffix, name)
    if kind == "docx":
        text = docx_text(data, name=name)
    elif kind == "pdf":
        text = pdf_text(data, name=name)
    elif kind == "html":
        text = html_text(data, name=name)
    elif kind == "mhtml":
        text = mhtml_text(data, name=name)
    else:
        text = decode_policy_bytes(_utf16_to_utf8(data, name), name=name)
    if len(text) > MAX_TEXT_CHARS:
        raise PolicyParseError(
            f"文字过长 / text too long: {len(text)} characters (limit {MAX_TEXT_CHARS}): {name}"
        )
    return clean_export(text)


def _utf16_to_utf8(data: bytes, name: str) -> bytes:
    """Re-encode a UTF-16 text with a BOM (Notepad's "Unicode") as UTF-8; other bytes pass."""
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyParseError(f"不是有效的 UTF-16 文本 / broken UTF-16 text: {name}") from exc


def _refused(data: bytes, suffix: str) -> str | None:
    """Return the message for a type that is recognised but not read (images, .doc, Excel)."""
    if data.startswith(_OLE_MAGIC):
        return _OLE_DOCX if suffix == ".docx" else _UNSUPPORTED.get(suffix, _OLD_WORD)
    if suffix in _IMAGE_SUFFIXES or _is_image(data):
        return _IMAGE
    if suffix in _UNSUPPORTED and not data.startswith(_ZIP_MAGIC):
        return _UNSUPPORTED[suffix]
    return None


def _is_image(data: bytes) -> bool:
    if data.startswith(_IMAGE_MAGIC):
        return True
    bmp = data.startswith(b"BM") and data[6:10] == b"\0\0\0\0"
    return bmp or (data.startswith(b"RIFF") and data[8:12] == b"WEBP")


def _kind(data: bytes, suffix: str, name: str) -> Kind:
    """Return the kind the content shows, refusing a name whose suffix says another kind."""
    found = _content_kind(data, suffix, name)
    claimed = _SUFFIX_KINDS.get(suffix)
    if claimed is None or claimed == found:
        return found
    if {claimed, found} <= {"text", "html", "mhtml"}:
        return found  # a page saved as .txt, an archive named .htm: read what is there
    raise PolicyParseError(
        f"文件内容是 {_LABELS[found]}，但扩展名是 {suffix}，请检查文件 / "
        f"content is {found} but the name ends in {suffix}: {name}"
    )


def _content_kind(data: bytes, suffix: str, name: str) -> Kind:
    if _PDF_RE.search(data[:1024]):
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data, suffix, name)
    if looks_like_html(data):
        return "html"
    if looks_like_mhtml(data):
        return "mhtml"
    return "text"


def _zip_kind(data: bytes, suffix: str, name: str) -> Kind:
    """Return "docx" for a Word package; refuse other zip files with what they are."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist()[:5000])
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PolicyParseError(
            f"文件已损坏，无法作为 .docx 打开 / corrupt zip/docx file ({exc}): {name}"
        ) from exc
    if "word/document.xml" in names:
        return "docx"
    if any(n.startswith("xl/") for n in names):
        raise PolicyParseError(f"{_UNSUPPORTED['.xlsx']}: {name}")
    if any(n.startswith("ppt/") for n in names):
        raise PolicyParseError(f"{_UNSUPPORTED['.pptx']}: {name}")
    message = _UNSUPPORTED.get(suffix, _UNSUPPORTED[".zip"])
    if suffix == ".docx":
        message = "文件不是有效的 .docx（缺少 word/document.xml） / not a valid .docx (no word/document.xml)"
    raise PolicyParseError(f"{message}: {name}")
