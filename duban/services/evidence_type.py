"""What an evidence file is: its type sniffed from content against an allow-list, and a safe name."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

import puremagic

from duban.errors import Invalid

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
OLE_TYPES = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
OOXML_TYPES = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ODF_TYPES = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
SNIFFED_TYPES = {
    "application/pdf": "application/pdf",
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "image/tiff": "image/tiff",
    "image/x-ms-bmp": "image/bmp",
    "image/bmp": "image/bmp",
}
ALLOWED_LABEL = "PDF、Office 文档（Word/Excel/PowerPoint/WPS 兼容格式）、图片（PNG/JPEG/GIF/WebP/TIFF/BMP）或 ZIP 压缩包"
FORBIDDEN_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]')


def neutralise_filename(name: str, *, max_chars: int = 120) -> str:
    """Return a display name without paths, control or header-breaking characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = FORBIDDEN_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if len(name) > max_chars:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        keep = max_chars - len(ext) - (1 if ext else 0)
        name = (stem if ext else name)[:keep] + (f".{ext}" if ext else "")
    return name or "evidence"


def _zip_type(path: Path) -> str:
    """Tell an Office Open XML or OpenDocument file from a plain zip by its members."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                odf = archive.read("mimetype").decode("ascii", "replace").strip()
                if odf in ODF_TYPES:
                    return odf
    except (zipfile.BadZipFile, OSError) as exc:
        raise Invalid("压缩文件已损坏，无法识别。") from exc
    if "[Content_Types].xml" in names:
        for prefix, mime in OOXML_TYPES.items():
            if any(n.startswith(prefix) for n in names):
                return mime
    return "application/zip"


def sniff_content_type(path: Path, filename: str) -> str:
    """Return the MIME type of the file by its content, or raise Invalid if not allowed."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(ZIP_MAGICS):
        return _zip_type(path)
    if head.startswith(OLE_MAGIC):
        return OLE_TYPES.get(Path(filename).suffix.lower(), "application/msword")
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        if match.mime_type in SNIFFED_TYPES:
            return SNIFFED_TYPES[match.mime_type]
    raise Invalid(f"不支持的文件类型：只接受{ALLOWED_LABEL}。")
