"""Each rule of duban/rules.py, one situation driven through the page, the API and the workflow.

The page shows or hides its form and refuses the post; the API answers with the same state,
light or status; the workflow's validator rejects the Update sent to it directly (past the
web's early checks). Real Temporal dev server and worker; SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from actions.starter import start_policy
from duban import rules
from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Assignment, Evidence
from tests.db import BACKENDS
from tests.web.browser import SignedIn, add_user, api_token, new_client
from tests.web.conftest import LoginAs
from tests.web.workspace_temporal import (
    eventually,
    live_app,
    start_and_wait,
    start_lead_and_co,
    workspace_temporal,
)
from tests.workspace import make_assignment, make_department, make_policy
from workflows.assignment import (
    ActionInput,
    AssignmentWorkflow,
    ExtensionRequestInput,
    ReviewInput,
    SubmitInput,
)

__all__ = ["live_app", "workspace_temporal"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """These tests run on SQLite and PostgreSQL."""
    return str(request.param)


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    """The app wired to the dev server with a running worker."""
    return live_app


@dataclass
class Desk:
    """One started assignment and the people who act on it, by page, API and workflow."""

    app: FastAPI
    db: sessionmaker[Session]
    aid: int
    staff: SignedIn
    api: httpx.AsyncClient
    headers: dict[str, str]
    client: Client

    def state(self) -> str:
        with self.db() as s:
            return s.get_one(Assignment, self.aid).state

    async def reaches(self, state: str) -> None:
        async def check() -> bool:
            return self.state() == state

        await eventually(check)

    async def page(self) -> str:
        response = await self.staff.client.get(f"/assignments/{self.aid}")
        assert response.status_code == 200
        return response.text

    async def post(self, path: str, **form: Any) -> httpx.Response:
        data = {"csrf_token": self.staff.csrf, **form}
        return await self.staff.client.post(f"/assignments/{self.aid}/{path}", data=data)

    async def call(self, path: str, body: dict[str, Any]) -> httpx.Response:
        url = f"/api/v1/assignments/{self.aid}/{path}"
        return await self.api.post(url, json=body, headers=self.headers)

    async def refused_by_workflow(self, update: Any, inp: Any) -> str:
        """Send the Update straight to the workflow; return the refusal's type."""
        with self.db() as s:
            workflow_id = s.get_one(Assignment, self.aid).workflow_id
        handle = self.client.get_workflow_handle(workflow_id)
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(update, inp)
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError)
        return str(cause.type)


@pytest.fixture
async def desk(app: FastAPI, db: sessionmaker[Session], login_as: LoginAs) -> Any:
    """Our department (fpb) leads a started task; a staff member on the page and on the API."""
    mine, _ = await start_lead_and_co(app, db)
    staff = await login_as(UserRole.STAFF, department="fpb")
    _, username = add_user(db, UserRole.STAFF, "fpb")
    client = await app.state.temporal.get()
    async with new_client(app) as api:
        headers = await api_token(api, username)
        yield Desk(app, db, mine, staff, api, headers, client)


def _act(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "user_id": 1, "actor": "测试", **extra}


async def _acknowledge(desk: Desk) -> None:
    assert (await desk.call("acknowledge", {"key": "ack"})).status_code == 200
    await desk.reaches("acknowledged")


async def _submit(desk: Desk) -> None:
    await _acknowledge(desk)
    body = {"key": "sub", "report": "本期进展。", "evidence_ids": []}
    assert (await desk.call("submissions", body)).status_code == 201
    await desk.reaches("submitted")


async def test_can_acknowledge_agrees(desk: Desk) -> None:
    """签收 once: the flag is off, and page, API and workflow refuse a second 签收."""
    await _acknowledge(desk)
    assert not rules.action_flags(desk.state()).can_acknowledge
    assert f"/assignments/{desk.aid}/acknowledge" not in await desk.page()
    assert (await desk.post("acknowledge", key="again-page")).status_code == 409
    assert (await desk.call("acknowledge", {"key": "again-api"})).status_code == 409
    inp = ActionInput(**_act("again-wf"))
    assert await desk.refused_by_workflow(AssignmentWorkflow.acknowledge, inp) == "conflict"


async def test_can_submit_agrees(desk: Desk) -> None:
    """Before 签收 no report: no form on the page, and page, API and workflow refuse one."""
    assert desk.state() == "assigned" and not rules.action_flags("assigned").can_submit
    assert 'id="submit-form"' not in await desk.page()
    assert (await desk.post("submissions", key="p", report="进展")).status_code == 409
    body = {"key": "a", "report": "进展", "evidence_ids": []}
    assert (await desk.call("submissions", body)).status_code == 409
    inp = SubmitInput(**_act("w", report="进展"))
    assert await desk.refused_by_workflow(AssignmentWorkflow.submit, inp) == "conflict"
    assert desk.state() == "assigned"


async def test_can_request_extension_agrees(desk: Desk) -> None:
    """A submitted period owes nothing: no extension form, and all three refuse a request."""
    await _submit(desk)
    assert not rules.action_flags("submitted").can_request_extension
    assert f"/assignments/{desk.aid}/extensions" not in await desk.page()
    later = utcnow() + timedelta(days=200)
    form = {"key": "p", "requested_due_date": later.date().isoformat(), "reason": "汛期"}
    assert (await desk.post("extensions", **form)).status_code == 409
    body = {"key": "a", "requested_due_at": later.isoformat(), "reason": "汛期"}
    assert (await desk.call("extensions", body)).status_code == 409
    inp = ExtensionRequestInput(**_act("w", requested_due_at=later, reason="汛期"))
    assert await desk.refused_by_workflow(AssignmentWorkflow.request_extension, inp) == "conflict"


async def test_extension_date_rule_agrees(desk: Desk) -> None:
    """A requested date not after the current due date is refused by page, API and workflow."""
    await _acknowledge(desk)
    with desk.db() as s:
        due = s.get_one(Assignment, desk.aid).due_at
    assert due is not None
    early = due - timedelta(days=2)
    refusal = rules.extension_date_refusal(early, now=utcnow(), due_at=due)
    assert refusal is not None and refusal.code == "invalid"
    form = {"key": "p", "requested_due_date": early.date().isoformat(), "reason": "汛期"}
    page = await desk.post("extensions", **form)
    assert page.status_code == 422 and refusal.message in page.text
    body = {"key": "a", "requested_due_at": early.isoformat(), "reason": "汛期"}
    api = await desk.call("extensions", body)
    assert api.status_code == 422 and api.json()["detail"] == refusal.message
    inp = ExtensionRequestInput(**_act("w", requested_due_at=early, reason="汛期"))
    assert await desk.refused_by_workflow(AssignmentWorkflow.request_extension, inp) == "invalid"
    assert desk.state() == "acknowledged"


async def test_rating_range_agrees(desk: Desk, login_as: LoginAs) -> None:
    """A rating outside 1-5 is refused by the review form, the API and the workflow."""
    await _submit(desk)
    for rating in (rules.RATING_MIN - 1, rules.RATING_MAX + 1):
        assert rules.rating_refusal(rating) is not None
    assert rules.rating_refusal(rules.RATING_MAX) is None
    supervisor = await login_as(UserRole.SUPERVISOR)
    page = await supervisor.client.get(f"/assignments/{desk.aid}")
    assert f"/assignments/{desk.aid}/review" in page.text  # the form is shown while submitted
    form = {"csrf_token": supervisor.csrf, "decision": "approve", "key": "p", "rating": "6"}
    posted = await supervisor.client.post(f"/assignments/{desk.aid}/review", data=form)
    assert posted.status_code == 422
    _, username = add_user(desk.db, UserRole.SUPERVISOR)
    headers = await api_token(desk.api, username)
    body = {"key": "a", "decision": "approve", "rating": 6}
    api = await desk.api.post(f"/api/v1/assignments/{desk.aid}/review", json=body, headers=headers)
    assert api.status_code == 422
    for rating in (0, 6):
        inp = ReviewInput(**_act(f"w{rating}", decision="approve", rating=rating))
        assert await desk.refused_by_workflow(AssignmentWorkflow.review, inp) == "invalid"
    assert desk.state() == "submitted"


async def test_traffic_light_agrees(desk: Desk) -> None:
    """A submitted report past its due date is green (awaiting review) on page and API alike."""
    await _submit(desk)
    with desk.db.begin() as s:
        s.get_one(Assignment, desk.aid).due_at = utcnow() - timedelta(days=3)
    light = rules.status_light(due_at=utcnow() - timedelta(days=3), now=utcnow(), state="submitted")
    assert light.color == rules.Light.GREEN
    assert 'light light-green"></span> <strong id="state">' in await desk.page()
    inbox = await desk.staff.client.get("/assignments")
    assert f'light light-green" role="img" aria-label="{light.reason}"' in inbox.text
    listed = await desk.api.get("/api/v1/assignments", headers=desk.headers)
    [row] = [r for r in listed.json() if r["id"] == desk.aid]
    assert (row["light"], row["light_reason"]) == ("green", light.reason)
    detail = await desk.api.get(f"/api/v1/assignments/{desk.aid}", headers=desk.headers)
    assert detail.json()["light"] == "green"
    # Overdue and not submitted: red everywhere.
    with desk.db.begin() as s:
        s.get_one(Assignment, desk.aid).state = "in_progress"
    red = await desk.api.get(f"/api/v1/assignments/{desk.aid}", headers=desk.headers)
    assert red.json()["light"] == "red"
    assert 'light light-red"></span> <strong id="state">' in await desk.page()


async def test_urge_cooldown_agrees(desk: Desk, login_as: LoginAs) -> None:
    """A second 催办 within the cooldown is refused by the page and the API with one message.

    The workflow's side of an urge is a signal deduplicated by its key; the cooldown is the
    service's (claim_urge), which page and API share.
    """
    supervisor = await login_as(UserRole.SUPERVISOR)
    form = {"csrf_token": supervisor.csrf, "key": "u1", "message": "请尽快报送"}
    first = await supervisor.client.post(f"/assignments/{desk.aid}/urge", data=form)
    assert first.status_code == 303
    refusal = rules.urge_refusal(utcnow(), now=utcnow())
    assert refusal is not None and refusal.code == "urge_cooldown"
    again = await supervisor.client.post(
        f"/assignments/{desk.aid}/urge", data={**form, "key": "u2"}
    )
    assert again.status_code == 409 and "分钟内不能重复催办" in again.text
    _, username = add_user(desk.db, UserRole.SUPERVISOR)
    headers = await api_token(desk.api, username)
    api = await desk.api.post(
        f"/api/v1/assignments/{desk.aid}/urge", json={"key": "u3"}, headers=headers
    )
    assert api.status_code == 409 and "分钟内不能重复催办" in api.json()["detail"]


async def test_urgency_order_agrees(desk: Desk, login_as: LoginAs) -> None:
    """Red before amber before green: the inbox page and the API list in rules.urgency_key order."""
    with desk.db.begin() as s:
        rows = s.query(Assignment).all()
        assert len(rows) == 2
        lead, co = sorted(rows, key=lambda a: a.id)
        lead.due_at = utcnow() + timedelta(days=3)  # amber
        co.due_at = utcnow() - timedelta(days=1)  # red
        expected = [
            a.id
            for a in sorted(
                rows,
                key=lambda a: rules.urgency_key(
                    rules.status_light(due_at=a.due_at, now=utcnow(), state=a.state),
                    a.due_at,
                    a.state,
                ),
            )
        ]
    assert expected == [co.id, lead.id]
    supervisor = await login_as(UserRole.SUPERVISOR)
    page = (await supervisor.client.get("/assignments")).text
    shown = [page.index(f'href="/assignments/{aid}"') for aid in expected]
    assert shown == sorted(shown)
    _, username = add_user(desk.db, UserRole.SUPERVISOR)
    headers = await api_token(desk.api, username)
    listed = await desk.api.get("/api/v1/assignments", headers=headers)
    assert [r["id"] for r in listed.json()] == expected
    lights = {r["id"]: r["light"] for r in listed.json()}
    assert lights == {co.id: "red", lead.id: "amber"}


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _evidence_rows(db: sessionmaker[Session]) -> list[tuple[int, str]]:
    with db() as s:
        return [(e.assignment_id, e.sha256) for e in s.scalars(select(Evidence))]


def _stored_files(app: FastAPI) -> set[str]:
    folder = app.state.settings.evidence_dir
    return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


async def _closed_by_its_workflow(app: FastAPI, db: sessionmaker[Session]) -> tuple[int, int]:
    """Start two one-off tasks of fpb; close the first through 签收, report and approval."""
    with db.begin() as s:
        policy = make_policy(
            s, items=[{"number": 5, "title": "任务五"}, {"number": 6, "title": "任务六"}]
        )
        fpb = make_department(s, "fpb", "省扶贫办")
        ids = [
            make_assignment(s, policy=policy, department=fpb, item_number=n, periods=0).id
            for n in (5, 6)
        ]
        key = policy.key
    client = await app.state.temporal.get()
    await start_policy(
        client,
        session_factory=app.state.session_factory,
        settings=app.state.settings,
        policy_key=key,
        cadence="one-off",  # one period: approving it completes the assignment
    )
    await start_and_wait(app, key, ids)
    return ids[0], ids[1]


async def test_can_upload_agrees(
    app: FastAPI, db: sessionmaker[Session], login_as: LoginAs
) -> None:
    """A closed (completed) assignment takes no evidence: no form, and the page, the API and
    evidence reuse refuse it with 409 `assignment_closed`, storing no file and no row."""
    closing, other = await _closed_by_its_workflow(app, db)
    staff = await login_as(UserRole.STAFF, department="fpb")
    async with new_client(app) as api:
        headers = await api_token(api, add_user(db, UserRole.STAFF, "fpb")[1])
        sup = await api_token(api, add_user(db, UserRole.SUPERVISOR)[1])
        desk = Desk(app, db, closing, staff, api, headers, await app.state.temporal.get())
        await _submit(desk)
        # Open while the report waits for review: the form shows and an upload goes through.
        assert rules.action_flags("submitted").can_upload
        assert f'action="/assignments/{closing}/evidence"' in await desk.page()
        files = {"file": ("进展.pdf", PDF + b"submitted", "application/pdf")}
        up = await api.post(f"/api/v1/assignments/{closing}/evidence", files=files, headers=headers)
        assert up.status_code == 201, up.text
        files = {"file": ("其他.pdf", PDF + b"other", "application/pdf")}
        up = await api.post(f"/api/v1/assignments/{other}/evidence", files=files, headers=headers)
        assert up.status_code == 201, up.text
        reusable = up.json()["id"]
        assert f'action="/assignments/{closing}/reusable-evidence"' in await desk.page()
        review = {"decision": "approve", "rating": 5, "key": "r1"}
        url = f"/api/v1/assignments/{closing}/review"
        assert (await api.post(url, json=review, headers=sup)).status_code == 200
        await desk.reaches("completed")

        refusal = rules.upload_refusal("completed")
        assert refusal is not None and refusal.code == "assignment_closed"
        assert not rules.action_flags("completed").can_upload
        page = await desk.page()
        assert f'action="/assignments/{closing}/evidence"' not in page
        assert f'action="/assignments/{closing}/reusable-evidence"' not in page
        rows, blobs = _evidence_rows(db), _stored_files(app)

        forged = {"file": ("补充.pdf", PDF + b"forged", "application/pdf")}
        form_files = {"files": forged["file"]}  # the page's field
        posted = await staff.client.post(
            f"/assignments/{closing}/evidence", data={"csrf_token": staff.csrf}, files=form_files
        )
        assert posted.status_code == 409 and refusal.message in posted.text
        uploader = await staff.client.post(
            f"/assignments/{closing}/evidence",
            data={"csrf_token": staff.csrf},
            files=form_files,
            headers={"Accept": "application/json"},
        )
        assert uploader.status_code == 409
        assert uploader.json() == {"detail": refusal.message, "code": "assignment_closed"}
        called = await api.post(
            f"/api/v1/assignments/{closing}/evidence", files=forged, headers=headers
        )
        assert called.status_code == 409
        assert called.json()["code"] == "assignment_closed"
        assert called.json()["detail"] == refusal.message
        reuse = await api.post(
            f"/api/v1/assignments/{closing}/reusable-evidence",
            json={"evidence_id": reusable},
            headers=headers,
        )
        assert reuse.status_code == 409 and reuse.json()["code"] == "assignment_closed"
        reuse_page = await staff.client.post(
            f"/assignments/{closing}/reusable-evidence",
            data={"csrf_token": staff.csrf, "evidence_id": str(reusable)},
        )
        assert reuse_page.status_code == 409
        assert _evidence_rows(db) == rows and _stored_files(app) == blobs  # nothing stored
        # The rule is the assignment's state, not the file: the open one takes a reused file.
        detail = await api.get(f"/api/v1/assignments/{closing}", headers=headers)
        [mine] = detail.json()["evidence"]
        reuse = await api.post(
            f"/api/v1/assignments/{other}/reusable-evidence",
            json={"evidence_id": mine["id"]},
            headers=headers,
        )
        assert reuse.status_code == 201, reuse.text
