"""The 立项 workbench: upload a document, check its decomposition side by side, correct it, publish (交办)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from actions.draft import (
    actor_of,
    document_limit,
    publish_and_start,
    read_upload,
    start_workflows,
)
from duban.errors import Conflict, DomainError, Invalid
from duban.models import Policy, PolicyDraft
from duban.rules import DIRECTION_LABELS
from duban.services.draft import create_draft, get_draft
from duban.services.draft_diff import draft_diff, same_text_version
from duban.services.draft_edit import DraftEdit, apply_edits, item_ref
from duban.services.draft_json import CADENCES, doubts_of
from duban.services.draft_view import draft_marks, segments
from duban.services.orgtree import fan_out_preview
from duban.services.policy_overview import start_progress
from duban.settings import Settings
from web.deps import IntakeUser, SessionDep, SettingsDep, intake_of
from web.rendering import is_htmx, render
from web.schemas import FormModel, RowId

router = APIRouter(prefix="/policies", include_in_schema=False)


class EditForm(FormModel):
    """One correction from a form of the review screen, based on the draft at `lock_version`."""

    lock_version: int
    op: str
    item: str = ""
    unit: int | None = None
    index: int | None = None
    value: str = ""
    text: str = ""
    measure: str = ""
    direction: str = ""
    scope: str = ""
    deadline: str = ""


class PublishForm(FormModel):
    """交办 the draft as read at `lock_version`."""

    lock_version: int


def _new_ctx(session: Session, settings: Settings, **extra: Any) -> dict[str, Any]:
    policies = session.scalars(select(Policy).order_by(Policy.id.desc())).all()
    limit_kb = document_limit(settings) // 1024
    return {
        "policies": policies,
        "text": "",
        "policy_id": None,
        "key": "",
        "limit_kb": limit_kb,
        **extra,
    }


@router.get("/drafts/new")
def new_draft_page(
    request: Request,
    user: IntakeUser,
    session: SessionDep,
    settings: SettingsDep,
    policy: Annotated[int | None, Query()] = None,
) -> Response:
    """Show the upload form (a file, or pasted text; optionally a changed text of a policy)."""
    return render(request, "drafts/new.html", _new_ctx(session, settings, policy_id=policy))


@router.post("/drafts")
async def create_draft_page(
    request: Request,
    user: IntakeUser,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form(max_length=5 * 1024 * 1024)] = "",
    policy_id: Annotated[str, Form()] = "",
    key: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Parse the upload into a draft and open it; a refusal re-shows the form (4xx)."""
    base = int(policy_id) if policy_id.isdigit() else None
    try:
        if file is not None and file.filename:
            text, name = await read_upload(file, settings)
        elif text.strip():
            name = ""  # pasted: keyed by its content
        else:
            raise Invalid("请选择要上传的文件，或粘贴政策文件全文")
        draft = create_draft(
            session=session,
            text=text,
            source_name=name,
            actor=actor_of(user),
            policy_key=key.strip() or None,
            base_policy_id=base,
        )
    except DomainError as exc:
        ctx = _new_ctx(
            session, settings, error=exc.message, text=text[:200_000], policy_id=base, key=key
        )
        return render(request, "drafts/new.html", ctx, status_code=exc.status, block="form")
    url = f"/policies/drafts/{draft.id}"
    if is_htmx(request):  # a whole new page, not a fragment
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def review_context(session: Session, draft: PolicyDraft, **extra: Any) -> dict[str, Any]:
    """Return everything the review screen shows."""
    data = draft.corrected
    doubts = doubts_of(data)
    return {
        "draft": draft,
        "data": data,
        "segments": segments(draft.source_text, draft_marks(draft.source_text, draft.id, data)),
        "doubts": doubts,
        "open_doubts": [d for d in doubts if not d.accepted],
        "ref": lambda item: item_ref(draft.id, item),
        "doubt_items": {d.item for d in doubts if not d.accepted},
        "own_cadences": sum(1 for i in data["items"] if i.get("cadence") and i["units"]),
        "cadences": CADENCES,
        "target_directions": DIRECTION_LABELS,
        "diff": draft_diff(session=session, draft=draft),
        "same_text": same_text_version(session=session, draft=draft),
        "changes": list(reversed(draft.changes))[:50],
        "tasks": sum(1 for i in data["items"] if i["units"] and not i.get("excluded")),
        "fan_out": fan_out_preview(session=session, data=data),
        **extra,
    }


@router.get("/drafts/{draft_id}")
def review_page(
    request: Request, draft_id: RowId, user: IntakeUser, session: SessionDep
) -> Response:
    """Show the source text beside its decomposition, doubts first."""
    draft = get_draft(session=session, draft_id=draft_id)
    return render(request, "drafts/review.html", review_context(session, draft), block="workbench")


@router.post("/drafts/{draft_id}/edit")
def edit_draft_page(
    request: Request,
    draft_id: RowId,
    user: IntakeUser,
    session: SessionDep,
    form: Annotated[EditForm, Form()],
) -> Response:
    """Apply one correction; a stale lock (409) or bad value (422) re-shows the screen with why."""
    edit = DraftEdit(
        form.op,
        form.item,
        form.unit,
        form.index,
        form.value,
        form.text,
        form.measure,
        form.direction,
        form.scope,
        form.deadline,
    )
    savepoint = session.begin_nested()
    try:
        apply_edits(
            session=session,
            draft_id=draft_id,
            lock_version=form.lock_version,
            edits=[edit],
            actor=actor_of(user),
        )
    except (Invalid, Conflict) as exc:
        savepoint.rollback()
        draft = get_draft(session=session, draft_id=draft_id)
        ctx = review_context(session, draft, error=exc.message, error_item=form.item)
        return render(request, "drafts/review.html", ctx, status_code=exc.status, block="workbench")
    savepoint.commit()
    draft = get_draft(session=session, draft_id=draft_id)
    if is_htmx(request):
        return render(
            request, "drafts/review.html", review_context(session, draft), block="workbench"
        )
    anchor = f"#{form.item}" if form.item else ""
    return RedirectResponse(f"/policies/drafts/{draft_id}{anchor}", status_code=303)


@router.post("/drafts/{draft_id}/publish")
async def publish_draft_page(
    request: Request,
    draft_id: RowId,
    user: IntakeUser,
    session: SessionDep,
    form: Annotated[PublishForm, Form()],
) -> Response:
    """交办: publish once and start the workflows, then follow their start on the document page."""
    try:
        outcome = await publish_and_start(
            intake_of(request), draft_id=draft_id, lock_version=form.lock_version, user=user
        )
    except (Invalid, Conflict) as exc:
        session.expire_all()
        draft = get_draft(session=session, draft_id=draft_id)
        ctx = review_context(session, draft, error=exc.message)
        return render(request, "drafts/review.html", ctx, status_code=exc.status, block="workbench")
    url = f"/policies/{outcome.published.policy_id}?started=1"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/{policy_id:int}/progress")
def progress_partial(
    request: Request, policy_id: RowId, user: IntakeUser, session: SessionDep
) -> Response:
    """The polled start progress of a published policy; 286 stops the polling when all run."""
    progress = start_progress(session=session, policy_id=policy_id)
    response = render(
        request, "policies/_progress.html", {"progress": progress, "policy_id": policy_id}
    )
    if progress.done and is_htmx(request):
        response.status_code = 286
    return response


@router.post("/{policy_id:int}/start")
async def restart_page(
    request: Request, policy_id: RowId, user: IntakeUser, session: SessionDep
) -> Response:
    """Start the policy's workflows again (idempotent), e.g. after Temporal was down."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise Invalid(f"政策 {policy_id} 不存在")
    await start_workflows(intake_of(request), policy.key)
    return RedirectResponse(f"/policies/{policy_id}?started=1", status_code=303)
