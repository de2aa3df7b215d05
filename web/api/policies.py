"""`/api/v1/policies`: the policies and the 立项 workbench's JSON twin (list, read, drafts, publish)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from actions.draft import actor_of, publish_and_start, read_upload
from duban.db import utcnow
from duban.errors import DomainError, Invalid
from duban.services.draft import create_draft, get_draft
from duban.services.draft_edit import apply_edits
from duban.services.policy_overview import list_policies, policy_document
from web.deps import CurrentUser, IntakeUser, SessionDep, SettingsDep, intake_of
from web.openapi import error_responses
from web.schemas import MAX_ROW_ID, RowId
from web.schemas.policies import (
    DraftPatch,
    DraftPublish,
    DraftRead,
    DraftTextCreate,
    PolicyDetailRead,
    PolicyRead,
    PublishRead,
)

router = APIRouter(prefix="/api/v1/policies", tags=["policies"])
# A stale lock version, a draft already published, doubts left open.
CONFLICT = error_responses(409)


class UnsupportedMediaType(DomainError):
    """The body is neither a multipart upload nor JSON."""

    status = 415
    code = "unsupported_media_type"


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "policy_id": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_ROW_ID,
                            "description": "amend this policy",
                        },
                        "key": {"type": "string"},
                    },
                }
            },
            "application/json": {"schema": DraftTextCreate.model_json_schema()},
        },
    }
}


@router.get("", response_model=list[PolicyRead])
def read_policies(user: CurrentUser, session: SessionDep) -> list[PolicyRead]:
    """Return every policy with its version, counts and lights."""
    return [PolicyRead.of(row) for row in list_policies(session=session, now=utcnow())]


@router.get("/{policy_id:int}", response_model=PolicyDetailRead)
def read_policy(policy_id: RowId, user: CurrentUser, session: SessionDep) -> PolicyDetailRead:
    """Return a policy's current text, item by item, with its tasks' assignment states."""
    doc = policy_document(session=session, policy_id=policy_id, now=utcnow())
    return PolicyDetailRead.of_document(doc)


async def _draft_input(request: Request, settings: SettingsDep) -> DraftTextCreate:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("请在 file 字段中上传政策文件")
        text, name = await read_upload(upload, settings)
        raw_id = form.get("policy_id") or ""
        if not isinstance(raw_id, str) or not (
            raw_id == "" or (raw_id.isascii() and raw_id.isdigit())
        ):
            raise Invalid("policy_id 应为要修订的政策编号（正整数）")
        try:
            return DraftTextCreate(text=text, name=name, policy_id=int(raw_id) if raw_id else None)
        except ValidationError as exc:
            raise Invalid("policy_id 应为要修订的政策编号（正整数）") from exc
    if content_type.startswith("application/json"):
        try:
            return DraftTextCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            raise Invalid('请求内容应为 JSON {"text": "政策全文"}') from exc
    raise UnsupportedMediaType(
        "请以 multipart/form-data（file 字段）或 JSON（text 字段）提交政策文件"
    )


@router.post(
    "/drafts",
    status_code=201,
    response_model=DraftRead,
    openapi_extra=UPLOAD_BODY,
    responses=error_responses(404, 413, 415, 422),
)
async def create_draft_api(
    request: Request, user: IntakeUser, session: SessionDep, settings: SettingsDep
) -> DraftRead:
    """Parse an uploaded file or a pasted text into a draft; nothing starts until it is published."""
    body = await _draft_input(request, settings)

    def create() -> DraftRead:
        draft = create_draft(
            session=session,
            text=body.text,
            source_name=body.name,
            actor=actor_of(user),
            base_policy_id=body.policy_id,
        )
        return DraftRead.of(draft)

    return await run_in_threadpool(create)


@router.get("/drafts/{draft_id}", response_model=DraftRead)
def read_draft(draft_id: RowId, user: IntakeUser, session: SessionDep) -> DraftRead:
    """Return a draft with its items (ids for PATCH), doubts and lock version."""
    return DraftRead.of(get_draft(session=session, draft_id=draft_id))


@router.patch("/drafts/{draft_id}", response_model=DraftRead, responses=CONFLICT)
def patch_draft(
    draft_id: RowId, body: DraftPatch, user: IntakeUser, session: SessionDep
) -> DraftRead:
    """Apply corrections all or none; a stale `lock_version` or a published draft is 409."""
    draft = apply_edits(
        session=session,
        draft_id=draft_id,
        lock_version=body.lock_version,
        edits=[e.edit() for e in body.edits],
        actor=actor_of(user),
    )
    return DraftRead.of(draft)


@router.post("/drafts/{draft_id}/publish", response_model=PublishRead, responses=CONFLICT)
async def publish_draft_api(
    request: Request, draft_id: RowId, body: DraftPublish, user: IntakeUser
) -> PublishRead:
    """交办 once: store the corrected decomposition as the policy's version and start its workflows."""
    outcome = await publish_and_start(
        intake_of(request), draft_id=draft_id, lock_version=body.lock_version, user=user
    )
    published = outcome.published
    return PublishRead(
        policy_id=published.policy_id,
        version=published.version,
        policy_key=published.policy_key,
        started=outcome.report.started,
        signalled=outcome.report.signalled,
    )
