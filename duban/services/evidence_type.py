"""What an evidence file is: its type sniffed from content against an allow-list, and a safe name.

The stored name's extension follows the sniffed type (a PDF named `.hta` is stored as `.pdf`),
so a download never opens as something it is not. Archives are judged by their end-of-central-
directory record before zipfile reads them, so a zip of a million entries costs nothing.
"""

from __future__ import annotations

import re
import struct
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
FORBIDDEN_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*;]')
# Format characters (bidi overrides such as U+202E, zero-width marks), surrogates and line
# separators: invisible, and able to make `invoice\u202efdp.exe` read as "invoiceexe.pdf".
DROPPED_CATEGORIES = frozenset({"Cf", "Cs", "Zl", "Zp"})
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    "image/bmp": (".bmp",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.ms-powerpoint": (".ppt",),
    OOXML_TYPES["word/"]: (".docx",),
    OOXML_TYPES["xl/"]: (".xlsx",),
    OOXML_TYPES["ppt/"]: (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    "application/zip": (".zip",),
}
EXTENSION_RE = re.compile(r"^[A-Za-z0-9]{1,8}$")
MAX_ARCHIVE_ENTRIES = 10_000
MAX_DIRECTORY_BYTES = 1024 * 1024
MAX_MIMETYPE_BYTES = 200
EOCD = struct.Struct("<4s4H2LH")
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


def neutralise_filename(name: str, *, max_chars: int = 120) -> str:
    """Return a display name without paths, control or header-breaking characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c for c in name if unicodedata.category(c) not in DROPPED_CATEGORIES)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = FORBIDDEN_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if len(name) > max_chars:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        keep = max_chars - len(ext) - (1 if ext else 0)
        name = (stem if ext else name)[:keep] + (f".{ext}" if ext else "")
    return name or "evidence"


def stored_name(name: str, content_type: str) -> str:
    """Return the display name with an extension that matches the sniffed type."""
    name = neutralise_filename(name)
    allowed = EXTENSIONS.get(content_type)
    if not allowed:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and EXTENSION_RE.match(ext):
        if f".{ext.lower()}" in allowed:
            return name
        name = stem
    return neutralise_filename(name + allowed[0])


def _directory_extent(path: Path) -> tuple[int, int]:
    """Return (entries, central directory bytes) from the end records, as zipfile finds them."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = max(0, size - (EOCD.size + 0xFFFF + ZIP64_LOCATOR.size + ZIP64_EOCD.size))
        handle.seek(start)
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + EOCD.size > len(tail):
        raise Invalid("压缩文件已损坏，无法识别。")
    entries, directory = EOCD.unpack_from(tail, at)[4:6]
    locator = at - ZIP64_LOCATOR.size
    record = locator - ZIP64_EOCD.size
    zip64 = tail[locator : locator + 4] == b"PK\x06\x07"
    if record >= 0 and zip64 and tail[record : record + 4] == b"PK\x06\x06":
        entries, directory = ZIP64_EOCD.unpack_from(tail, record)[7:9]
    return int(entries), int(directory)


def _check_archive_bounds(path: Path) -> None:
    """Refuse an archive whose central directory is too large to read cheaply."""
    entries, directory = _directory_extent(path)
    if entries > MAX_ARCHIVE_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise Invalid(f"压缩包内文件过多：最多 {MAX_ARCHIVE_ENTRIES} 个，请拆分后上传。")


def _zip_type(path: Path) -> str:
    """Tell an Office Open XML or OpenDocument file from a plain zip by its members."""
    _check_archive_bounds(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            mimetype = archive.NameToInfo.get("mimetype")
            if mimetype is not None and mimetype.file_size <= MAX_MIMETYPE_BYTES:
                odf = archive.read(mimetype).decode("ascii", "replace").strip()
                if odf in ODF_TYPES:
                    return odf
    except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
        raise Invalid("压缩文件已损坏，无法识别。") from exc
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Invalid("不接受含宏的 Office 文档，请另存为不含宏的格式（如 .docx、.xlsx）后上传。")
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
        # Installers (.msi), mail (.msg) and others share this container: only named Office
        # files are taken, never an unknown suffix.
        suffix = Path(neutralise_filename(filename)).suffix.lower()
        if suffix and suffix not in OLE_TYPES:
            raise Invalid(f"不支持的文件类型：只接受{ALLOWED_LABEL}。")
        return OLE_TYPES.get(suffix, "application/msword")
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        if match.mime_type in SNIFFED_TYPES:
            return SNIFFED_TYPES[match.mime_type]
    raise Invalid(f"不支持的文件类型：只接受{ALLOWED_LABEL}。")
