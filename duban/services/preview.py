"""Evidence previews: what a stored file really is, and PDF pages drawn as PNG on the server.

A preview never hands the browser a document it could run script in: images are re-served
only when their bytes are PNG, JPEG, GIF or WebP (whatever the name or the upload claimed),
and a PDF is drawn page by page into PNG here, so no PDF reader runs in the app's origin and
phones, whose browsers rarely show a PDF inside a page, see it too. Everything else (SVG,
HTML, Office files) is offered for download only.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pypdfium2 as pdfium
from sqlalchemy.orm import Session

from duban.errors import Forbidden, Invalid, NotFound
from duban.models import Evidence, User
from duban.services.assignment import visible_assignment
from duban.services.evidence import get_evidence, may_read_evidence

# Magic numbers of the image types a browser may show from an <img>; SVG is never one of them.
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
MAX_PAGE_PX = 1600  # the long side of a drawn page
MAX_PAGES = 200
# pdfium is not thread-safe: one page is drawn at a time per process.
_PDFIUM_LOCK = threading.Lock()


class PreviewKind(StrEnum):
    """How a file can be seen in the page."""

    IMAGE = "image"
    PDF = "pdf"
    NONE = "none"


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say it is."""

    kind: PreviewKind
    media_type: str = ""


def sniff(head: bytes) -> Sniffed:
    """Return what a file is by its first bytes (16 are enough)."""
    for magic, media_type in IMAGE_MAGIC:
        if head.startswith(magic):
            return Sniffed(PreviewKind.IMAGE, media_type)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(PreviewKind.IMAGE, "image/webp")
    if head.startswith(b"%PDF-"):
        return Sniffed(PreviewKind.PDF, "application/pdf")
    return Sniffed(PreviewKind.NONE)


def sniff_file(path: Path) -> Sniffed:
    """Sniff a stored file (NotFound when its bytes are gone)."""
    if not path.is_file():
        raise NotFound("证据文件不存在。")
    with path.open("rb") as handle:
        return sniff(handle.read(16))


def evidence_for_preview(
    *, session: Session, user: User, assignment_id: int, evidence_id: int
) -> Evidence:
    """Return a file the user may read (the same rule as downloads); 404 or 403 otherwise."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    if not may_read_evidence(user):
        raise Forbidden("证据材料仅限承办单位和督查室查阅。")
    return get_evidence(session=session, evidence_id=evidence_id, assignment_id=assignment.id)


def page_count(path: Path) -> int:
    """Return how many pages a stored PDF has (capped); Invalid when it cannot be read."""
    with _PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            raise Invalid("该 PDF 无法预览（文件损坏或已加密），请下载后查看。") from exc
        try:
            return min(len(doc), MAX_PAGES)
        finally:
            doc.close()


def pdf_page_png(path: Path, page: int) -> bytes:
    """Draw page `page` (1-based) of a stored PDF as PNG, its long side MAX_PAGE_PX at most."""
    with _PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            raise Invalid("该 PDF 无法预览（文件损坏或已加密），请下载后查看。") from exc
        try:
            if not 1 <= page <= min(len(doc), MAX_PAGES):
                raise NotFound("该页不存在。")
            pdf_page = doc[page - 1]
            width, height = pdf_page.get_size()
            scale = min(2.0, MAX_PAGE_PX / max(width, height, 1.0))
            image = pdf_page.render(scale=scale).to_pil()
            pdf_page.close()
        finally:
            doc.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
