"""Evidence previews: a page that shows a PDF's pages or an image, and the images it loads.

The images come from their own route with a sandboxing CSP and `nosniff`, typed by their
sniffed bytes (duban/services/preview.py), so nothing served there can run script in the
app's origin, whatever was uploaded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from duban.errors import Invalid
from duban.services.audit import record_event
from duban.services.evidence import BlobStore, local_file
from duban.services.preview import (
    MAX_PAGES,
    PreviewKind,
    evidence_for_preview,
    page_count,
    pdf_page_png,
    sniff_file,
)
from web.deps import CurrentUser, SessionDep
from web.evidence_http import evidence_store
from web.rendering import render
from web.schemas import RowId

router = APIRouter(include_in_schema=False)
StoreDep = Annotated[BlobStore, Depends(evidence_store)]
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGES)]
IMAGE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Disposition": 'inline; filename="preview"',
    "Cache-Control": "private, max-age=3600",
}


@router.get("/assignments/{assignment_id}/evidence/{evidence_id}/view")
def preview_page(
    request: Request,
    assignment_id: RowId,
    evidence_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
    page: PageNo = 1,
) -> Response:
    """Show a PDF page by page, or an image; other files only offer the download."""
    evidence = evidence_for_preview(
        session=session, user=user, assignment_id=assignment_id, evidence_id=evidence_id
    )
    pages, error = 1, None
    with local_file(store, evidence.sha256) as path:
        kind = sniff_file(path).kind
        if kind is PreviewKind.PDF:
            try:
                pages = page_count(path)
            except Invalid as exc:
                kind, error = PreviewKind.NONE, exc.message
    page = min(page, max(pages, 1))
    data = {"assignment_id": assignment_id, "evidence_id": evidence.id, "sha256": evidence.sha256}
    record_event(session=session, kind="evidence_previewed", actor=user, data=data)
    ctx = {"e": evidence, "kind": kind.value, "page": page, "pages": pages, "error": error}
    return render(request, "evidence/preview.html", ctx)


@router.get("/assignments/{assignment_id}/evidence/{evidence_id}/preview")
def preview_image(
    assignment_id: RowId,
    evidence_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
    page: PageNo = 1,
) -> Response:
    """Return the image itself, or a PDF page drawn as PNG; 415 for anything else."""
    evidence = evidence_for_preview(
        session=session, user=user, assignment_id=assignment_id, evidence_id=evidence_id
    )
    with local_file(store, evidence.sha256) as path:
        sniffed = sniff_file(path)
        if sniffed.kind is PreviewKind.IMAGE:
            image = path.read_bytes()
            return Response(image, media_type=sniffed.media_type, headers=IMAGE_HEADERS)
        if sniffed.kind is PreviewKind.PDF:
            png = pdf_page_png(path, page)
            return Response(png, media_type="image/png", headers=IMAGE_HEADERS)
    return Response(
        "此类文件不能在页面中预览，请下载后查看。",
        status_code=415,
        media_type="text/plain; charset=utf-8",
        headers=IMAGE_HEADERS,
    )
