"""Evidence pages of an assignment: the upload form (and drag-and-drop uploader) and downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from actions import assignment as actions
from duban.errors import Conflict, Invalid, TooLarge
from duban.models import Evidence, User
from duban.services.evidence import BlobStore, evidence_for_download
from web.deps import CurrentUser, SessionDep
from web.evidence_http import download_response, evidence_store
from web.pages.assignments import back_to_detail, detail_context, render_detail
from web.schemas import RowId

router = APIRouter(include_in_schema=False)
StoreDep = Annotated[BlobStore, Depends(evidence_store)]
MAX_FILES_PER_UPLOAD = 20


def wants_json(request: Request) -> bool:
    """Tell whether the drag-and-drop uploader (not a plain form) sent the request."""
    return "application/json" in request.headers.get("accept", "")


def _store_files(
    request: Request,
    session: Session,
    store: BlobStore,
    user: User,
    assignment_id: RowId,
    files: list[UploadFile],
) -> list[Evidence]:
    """Store every uploaded file of one form, all or none."""
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise Invalid(f"一次最多上传 {MAX_FILES_PER_UPLOAD} 个文件。")
    uploads = [actions.Upload(f.filename, f.file) for f in files if f.filename]
    if not uploads:
        raise Invalid("请选择要上传的文件。")
    return actions.upload_evidence(
        session=session,
        store=store,
        user=user,
        assignment_id=assignment_id,
        uploads=uploads,
    )


@router.post("/assignments/{assignment_id}/evidence")
def upload_form(
    request: Request,
    assignment_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
    files: Annotated[list[UploadFile], File()],
) -> Response:
    """Store the uploaded files; JSON for the uploader script, else back to the page."""
    try:
        stored = _store_files(request, session, store, user, assignment_id, files)
    except (Invalid, Conflict, TooLarge) as exc:
        if wants_json(request):
            coded = {"code": exc.code} if getattr(exc, "expose_code", False) else {}
            return JSONResponse({"detail": exc.message, **coded}, status_code=exc.status)
        ctx = detail_context(session, user, assignment_id, error=exc.message)
        return render_detail(request, ctx, exc.status)
    if wants_json(request):
        body = [
            {"id": e.id, "sha256": e.sha256, "size": e.size, "filename": e.filename} for e in stored
        ]
        return JSONResponse(body, status_code=201)
    return back_to_detail(request, assignment_id, f"已上传 {len(stored)} 个文件。")


@router.get("/assignments/{assignment_id}/evidence/{evidence_id}")
def download_page(
    assignment_id: RowId,
    evidence_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
) -> Response:
    """Download an evidence file (department and supervisors only) after re-checking its SHA-256."""
    evidence = evidence_for_download(
        session=session, user=user, assignment_id=assignment_id, evidence_id=evidence_id
    )
    return download_response(store, evidence)
