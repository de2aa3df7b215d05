"""Policy pages: the list of policies with their lights, and one document with its tasks (一屏通览)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from duban.db import utcnow
from duban.services.board import LIGHTS
from duban.services.draft import list_drafts
from duban.services.draft_cadence import cadence_name, version_cadence
from duban.services.policy_overview import list_policies, policy_document, start_progress
from web.deps import CurrentUser, SessionDep
from web.i18n import SIMPLIFIED, TRADITIONAL, request_locale, to_script, to_simplified
from web.rendering import render
from web.schemas import RowId

router = APIRouter(include_in_schema=False)
INTAKE_ROLES = frozenset({"supervisor", "admin"})
ORIGINAL = "original"
SCRIPT_CHOICES = ((ORIGINAL, "原文"), (SIMPLIFIED, "简体"), (TRADITIONAL, "繁體"))


@router.get("/policies")
def policies_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """List every policy with its version, counts and lights, and the drafts being checked."""
    ctx = {
        "rows": list_policies(session=session, now=utcnow()),
        "drafts": list_drafts(session=session) if user.role in INTAKE_ROLES else [],
        "can_intake": user.role in INTAKE_ROLES,
        "lights": LIGHTS,
    }
    return render(request, "policies/index.html", ctx)


def document_script(choice: str, locale: str) -> Callable[[str], str]:
    """Return how the document's own text is shown: as written, or in one script."""
    if choice == ORIGINAL:
        return lambda text: text
    target = choice if choice in (SIMPLIFIED, TRADITIONAL) else locale
    if target == TRADITIONAL:
        return lambda text: to_script(text, TRADITIONAL)
    return to_simplified


@router.get("/policies/{policy_id:int}")
def policy_page(
    request: Request,
    policy_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    script: Annotated[str, Query(pattern="^(original|zh-CN|zh-TW)?$")] = "",
    started: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """Show the published text item by item, each task with its assignments' states."""
    doc = policy_document(session=session, policy_id=policy_id, now=utcnow())
    chosen = script or request_locale(request)
    ctx = {
        "doc": doc,
        "policy_id": policy_id,
        "lights": LIGHTS,
        "can_intake": user.role in INTAKE_ROLES,
        "can_edit_templates": user.role == "supervisor",
        "doc_script": chosen,
        "scripts": SCRIPT_CHOICES,
        "ds": document_script(chosen, request_locale(request)),
        "cadence_of": lambda number: cadence_name(version_cadence(doc.version.parsed, number)),
        "progress": start_progress(session=session, policy_id=policy_id)
        if started and user.role in INTAKE_ROLES
        else None,
    }
    return render(request, "policies/document.html", ctx)
