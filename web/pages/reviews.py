"""Review queue and extension requests (pages), and the supervisor's form actions on an assignment."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from actions import review as actions
from actions.assignment import Caller
from duban.db import utcnow
from duban.errors import DomainError, Invalid
from duban.services.paging import MAX_PAGE, PAGE_SIZE, Paged, Slice
from duban.services.report_template import submission_answers
from duban.services.review import (
    extension_queue,
    extension_total,
    load_evidence,
    review_queue,
    review_total,
    waiting_days,
)
from web.deps import SessionDep
from web.i18n import SHANGHAI
from web.pages.assignments import detail_context, render_detail
from web.paging import PageDep, PageParams
from web.rendering import is_htmx, render
from web.schemas import FormModel, RowId
from web.schemas.supervision import SupervisorCaller, SupervisorUser

router = APIRouter(include_in_schema=False)
FLASH = "flash"
TASK_PAGE = re.compile(r"^/assignments/(\d{1,18})$")


class ActForm(FormModel):
    """Every supervisor form: an idempotency key and where to go back to."""

    key: str = ""
    next: str = ""


class ReviewForm(ActForm):
    """Approve with a rating, or return with a reason and maybe a new due day."""

    decision: str = ""
    rating: str = ""
    comment: str = ""
    new_due_date: str = ""


class BulkForm(ActForm):
    """Approve the checked submissions with one rating."""

    submission_ids: list[RowId] = Field(default_factory=list, max_length=500)
    rating: str = ""


class DueForm(ActForm):
    """A new due day (ends 23:59 Beijing time) and the reason."""

    due_date: str = ""
    reason: str = ""


class DecisionForm(ActForm):
    """Grant (optionally another day) or refuse an extension request."""

    grant: str = ""
    due_date: str = ""
    comment: str = ""


class UrgeForm(ActForm):
    """A 催办 with an optional message."""

    message: str = ""


def parse_day(value: str, *, label: str) -> datetime | None:
    """Return 23:59 Beijing time of a YYYY-MM-DD day (None when empty), else raise Invalid."""
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{label}格式应为 YYYY-MM-DD。") from exc
    return datetime.combine(day, time(23, 59), tzinfo=SHANGHAI).astimezone(UTC)


def parse_rating(value: str) -> int | None:
    """Return the rating as a number (None when empty), else raise Invalid."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise Invalid("评分须为 1 至 5 分。")
    return int(value)


def safe_next(value: str, default: str = "/reviews") -> str:
    """Return a local path to go back to (never another site)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _queues(
    session: Session, paging: PageParams | None = None, xpage: int = 1, **extra: Any
) -> dict[str, Any]:
    """The page's context: one page of each queue (windowed and counted in SQL) and its pager."""
    paging = paging or PageParams(1, PAGE_SIZE, "")
    start = (paging.page - 1) * paging.size
    part = Slice(offset=start, limit=paging.size)
    rows = review_queue(session=session, q=paging.q, part=part)[: paging.size]
    pg = Paged(rows, paging.page, paging.size, review_total(session=session, q=paging.q))
    load_evidence(session=session, rows=pg.items)
    xpart = Slice(offset=(xpage - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    extensions = extension_queue(session=session, part=xpart)[:PAGE_SIZE]
    xpg = Paged(extensions, xpage, PAGE_SIZE, extension_total(session=session))

    def url(n: int, xn: int) -> str:
        size = paging.size if paging.size != PAGE_SIZE else ""
        query = {
            "q": paging.q,
            "page": n if n > 1 else "",
            "size": size,
            "xpage": xn if xn > 1 else "",
        }
        return "/reviews?" + urlencode({k: v for k, v in query.items() if v})

    return {
        "reviews": pg.items,
        "pg": pg,
        "page_url": lambda n: url(n, xpage),
        "xpg": xpg,
        "xpage_url": lambda n: url(paging.page, n) + "#extensions",
        "q": paging.q,
        "extensions": extensions,
        "now": utcnow(),
        "waited": waiting_days,
        "answers_by_submission": submission_answers(
            session=session, submissions=[r.submission for r in pg.items]
        ),
        **extra,
    }


@router.get("/reviews")
def reviews_page(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    paging: PageDep,
    xpage: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """Show the submissions awaiting review (paged, searchable) and the extension requests
    (paged by `xpage`)."""
    flash = request.session.pop(FLASH, None)
    ctx = _queues(session, paging, xpage, flash=flash)
    return render(request, "reviews/index.html", ctx, block="queues")


async def _act(
    request: Request, caller: Caller, form: ActForm, call: Callable[[], Awaitable[str]]
) -> Response:
    """Run an action: 303 back with a message, or the queues again with the error (4xx)."""
    try:
        message = await call()
    except DomainError as exc:
        if (task := TASK_PAGE.match(form.next)) is not None:  # came from the task page: back there
            task_ctx = await run_in_threadpool(
                detail_context, caller.session, caller.user, int(task[1]), error=exc.message
            )
            return render_detail(request, task_ctx, exc.status)
        ctx = await run_in_threadpool(_queues, caller.session, error=exc.message)
        return render(request, "reviews/index.html", ctx, block="queues", status_code=exc.status)
    request.session[FLASH] = message
    return RedirectResponse(safe_next(form.next), status_code=303)


@router.post("/assignments/{assignment_id}/review")
async def review(
    request: Request,
    assignment_id: RowId,
    form: Annotated[ReviewForm, Form()],
    caller: SupervisorCaller,
) -> Response:
    """Approve or return a submission from the queue."""

    async def call() -> str:
        verdict = actions.Verdict(
            form.decision,
            parse_rating(form.rating),
            form.comment,
            parse_day(form.new_due_date, label="新的截止日期"),
        )
        outcome = await actions.review(caller, assignment_id, verdict=verdict, key=form.key or None)
        return outcome.message

    return await _act(request, caller, form, call)


@router.post("/reviews/bulk-approve")
async def bulk_approve(
    request: Request, form: Annotated[BulkForm, Form()], caller: SupervisorCaller
) -> Response:
    """Approve every checked submission with one rating."""

    async def call() -> str:
        rating = parse_rating(form.rating)
        results = await actions.bulk_approve(
            caller,
            submission_ids=form.submission_ids,
            rating=rating if rating is not None else 0,
        )
        ok = sum(r.ok for r in results)
        failed = [r.message for r in results if not r.ok]
        return f"已批量通过 {ok} 条" + (
            f"，{len(failed)} 条未通过：{failed[0]}" if failed else "。"
        )

    return await _act(request, caller, form, call)


@router.post("/assignments/{assignment_id}/due")
async def set_due(
    request: Request,
    assignment_id: RowId,
    form: Annotated[DueForm, Form()],
    caller: SupervisorCaller,
) -> Response:
    """Move the current due date; the original stays on record."""

    async def call() -> str:
        due_at = parse_day(form.due_date, label="新的截止日期")
        outcome = await actions.set_due(
            caller, assignment_id, due_at=due_at, reason=form.reason, key=form.key or None
        )
        return outcome.message

    return await _act(request, caller, form, call)


@router.post("/assignments/{assignment_id}/extensions/{extension_id}/decision")
async def decide_extension(
    request: Request,
    assignment_id: RowId,
    extension_id: RowId,
    form: Annotated[DecisionForm, Form()],
    caller: SupervisorCaller,
) -> Response:
    """Grant or refuse an extension request."""

    async def call() -> str:
        if form.grant not in ("yes", "no"):
            raise Invalid("请选择同意或不同意延期。")
        outcome = await actions.decide_extension(
            caller,
            assignment_id,
            extension_id=extension_id,
            grant=form.grant == "yes",
            due_at=parse_day(form.due_date, label="批准的截止日期"),
            comment=form.comment,
            key=form.key or None,
        )
        return outcome.message

    return await _act(request, caller, form, call)


@router.post("/assignments/{assignment_id}/urge")
async def urge(
    request: Request,
    assignment_id: RowId,
    form: Annotated[UrgeForm, Form()],
    caller: SupervisorCaller,
) -> Response:
    """催办 with one click: htmx gets the button's replacement, browsers go back."""
    try:
        message = await actions.urge(
            caller, assignment_id, message=form.message, key=form.key or None
        )
    except DomainError as exc:
        if is_htmx(request):
            ctx = {"message": exc.message, "ok": False}
            return render(request, "board/_urged.html", ctx, status_code=422)
        raise
    if is_htmx(request):
        return render(request, "board/_urged.html", {"message": message, "ok": True})
    request.session[FLASH] = message
    return RedirectResponse(safe_next(form.next, "/board"), status_code=303)
