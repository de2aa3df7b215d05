"""The department workspace over HTTP: inbox, detail, evidence, iCal and form errors (no Temporal)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import AuditEvent, Department, Evidence
from duban.settings import Settings
from tests.web.browser import api_token
from tests.workspace import add_event, make_assignment, make_department, make_policy

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small upload limit so 413 is cheap to reach."""
    return settings.model_copy(update={"max_upload_bytes": 64 * 1024})


@pytest.fixture
def world(db):
    """Two departments; ours has a red, an amber and a green assignment, theirs one."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(
            s,
            items=[
                {"number": 5, "title": "保持主要帮扶政策总体稳定"},
                {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
                {"number": 7, "title": "巩固“两不愁三保障”成果"},
            ],
        )
        own, other = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        green = make_assignment(s, policy=policy, department=own, due_at=now + timedelta(days=40))
        red = make_assignment(
            s,
            policy=policy,
            department=own,
            item_number=6,
            role="co",
            due_at=now - timedelta(days=2),
            escalation_level=2,
        )
        amber = make_assignment(
            s, policy=policy, department=own, item_number=7, due_at=now + timedelta(days=3)
        )
        foreign = make_assignment(s, policy=policy, department=other, role="co")
        add_event(s, green, "acknowledged", now, comment="已签收")
        return {
            "own": "fpb",
            "other": "czt",
            "green": green.id,
            "red": red.id,
            "amber": amber.id,
            "foreign": foreign.id,
        }


async def test_inbox_page_lists_own_assignments_by_urgency(login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    page = await staff.client.get("/assignments")
    assert page.status_code == 200
    links = re.findall(r'href="/assignments/(\d+)"', page.text)
    assert links == [str(world["red"]), str(world["amber"]), str(world["green"])]
    assert "已逾期 2 天" in page.text and "2 级" in page.text and "配合" in page.text
    assert "HX-Request" in page.headers["vary"]


async def test_inbox_fragment_for_htmx_filters_and_searches(login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    page = await staff.client.get(
        "/assignments", params={"q": "动态监测"}, headers={"HX-Request": "true"}
    )
    assert page.status_code == 200
    assert "<html" not in page.text and "显示 1 / 3 项" in page.text
    assert re.findall(r'href="/assignments/(\d+)"', page.text) == [str(world["red"])]
    amber = await staff.client.get("/assignments", params={"light": "amber", "state": "bogus"})
    assert re.findall(r'href="/assignments/(\d+)"', amber.text) == [str(world["amber"])]


async def test_api_lists_own_department_or_everything_for_supervisors(login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    mine = (await staff.client.get("/api/v1/assignments")).json()
    assert [a["id"] for a in mine] == [world["red"], world["amber"], world["green"]]
    assert mine[0]["department"] == {"code": "fpb", "name": "省扶贫办"}
    assert (mine[0]["role"], mine[0]["light"], mine[0]["escalation_level"]) == ("co", "red", 2)
    supervisor = await login_as(UserRole.SUPERVISOR)
    everything = (await supervisor.client.get("/api/v1/assignments", params={"role": "co"})).json()
    assert sorted(a["id"] for a in everything) == sorted([world["red"], world["foreign"]])
    bad = await staff.client.get("/api/v1/assignments", params={"light": "purple"})
    assert bad.status_code == 422 and bad.json()["detail"]


async def test_detail_page_and_api_show_item_partners_and_timeline(login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    page = await staff.client.get(f"/assignments/{world['green']}")
    assert page.status_code == 200
    for text in ("保持主要帮扶政策总体稳定", "省财政厅（配合）", "签收", "办理记录", "第1期"):
        assert text in page.text
    body = (await staff.client.get(f"/api/v1/assignments/{world['green']}")).json()
    assert body["task"]["number"] == 5 and body["task"]["title"] == "保持主要帮扶政策总体稳定"
    assert (
        body["department"]["code"] == "fpb"
        and body["role"] == "lead"
        and body["state"] == "assigned"
    )
    assert [p["department"]["name"] for p in body["partners"]] == ["省财政厅"]
    assert [p["index"] for p in body["periods"]] == [0, 1]
    assert [(e["kind"], e["label"]) for e in body["timeline"]] == [("acknowledged", "签收")]
    assert body["submissions"] == [] and body["escalation_level"] == 0 and body["due_at"]
    fragment = await staff.client.get(
        f"/assignments/{world['green']}", headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text and "任务内容" in fragment.text


async def test_page_upload_of_two_files_then_api_upload_is_idempotent(client, login_as, world, db):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    url = f"/assignments/{world['green']}/evidence"
    files = [
        ("files", ("../../进展报告.pdf", PDF, "application/pdf")),
        ("files", ("方案.docx", docx(), "application/octet-stream")),
    ]
    done = await staff.client.post(url, data={"csrf_token": staff.csrf}, files=files)
    assert done.status_code == 303 and done.headers["location"].endswith(
        f"/assignments/{world['green']}"
    )
    headers = await api_token(client, staff.username)
    again = await client.post(
        f"/api{url.replace('/assignments', '/v1/assignments')}",
        files={"file": ("x.pdf", PDF)},
        headers=headers,
    )
    assert again.status_code == 201
    with db.begin() as s:
        rows = s.scalars(
            select(Evidence).where(Evidence.assignment_id == world["green"]).order_by(Evidence.id)
        ).all()
        assert [(r.filename, r.content_type.split("/")[0]) for r in rows] == [
            ("进展报告.pdf", "application"),
            ("方案.docx", "application"),
        ]
        assert again.json() == {
            "id": rows[0].id,
            "sha256": rows[0].sha256,
            "size": len(PDF),
            "filename": "进展报告.pdf",
            "content_type": "application/pdf",
        }
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.kind == "evidence_uploaded")
            )
            == 2
        )
    download = await staff.client.get(f"{url}/{rows[0].id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "filename*=UTF-8''%E8%BF%9B" in download.headers["content-disposition"]


async def test_uploader_json_and_refusals_change_nothing(app, login_as, world, db):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    url = f"/assignments/{world['green']}/evidence"
    xhr = {"Accept": "application/json", "X-CSRFToken": staff.csrf}
    ok = await staff.client.post(url, files={"files": ("a.png", PNG)}, headers=xhr)
    assert ok.status_code == 201 and ok.json()[0]["filename"] == "a.png"
    exe = await staff.client.post(
        url, files={"files": ("report.pdf", b"MZ\x90\x00" + b"\x00" * 300)}, headers=xhr
    )
    assert exe.status_code == 422 and "不支持的文件类型" in exe.json()["detail"]
    big = await staff.client.post(
        url, files={"files": ("big.pdf", PDF + b"\x00" * 70_000)}, headers=xhr
    )
    assert big.status_code == 413 and "文件过大" in big.json()["detail"]
    mixed = await staff.client.post(
        url,
        data={"csrf_token": staff.csrf},
        files=[("files", ("ok.pdf", PDF)), ("files", ("bad.exe", b"MZ" + b"\x00" * 99))],
    )
    assert (
        mixed.status_code == 422 and "不支持的文件类型" in mixed.text and "任务内容" in mixed.text
    )
    forged = await staff.client.post(
        url, data={"csrf_token": "forged"}, files={"files": ("ok.pdf", PDF)}
    )
    assert forged.status_code == 403
    with db.begin() as s:
        assert [e.filename for e in s.scalars(select(Evidence))] == ["a.png"]


async def test_corrupted_evidence_is_not_served(app, login_as, world, settings):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    url = f"/assignments/{world['green']}/evidence"
    stored = (
        await staff.client.post(
            url,
            files={"files": ("a.pdf", PDF)},
            headers={"Accept": "application/json", "X-CSRFToken": staff.csrf},
        )
    ).json()[0]
    path = settings.evidence_dir / stored["sha256"][:2] / stored["sha256"]
    path.chmod(0o644)
    path.write_bytes(PDF + b"tampered")
    response = await staff.client.get(
        f"{url}/{stored['id']}", headers={"Accept": "application/json"}
    )
    assert response.status_code == 409 and "校验失败" in response.json()["detail"]


async def test_calendar_link_and_feed(client, login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    made = await staff.client.post("/calendar/link", data={"csrf_token": staff.csrf})
    assert made.status_code == 303
    page = await staff.client.get("/assignments")
    found = re.search(r'value="(http://testserver/calendar/[^"]+\.ics)"', page.text)
    assert found is not None, "no calendar link on the page"
    feed_url = found.group(1)
    feed = await client.get(feed_url.removeprefix("http://testserver"))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) == 6  # three assignments x two periods, none of the other department's
    # Without DUBAN_BASE_URL the links point where the feed was fetched, not to port 8000.
    assert all(str(e["URL"]).startswith("http://testserver/assignments/") for e in events)
    # The button sits in a white card: not the header's white-on-transparent ghost style.
    button = re.search(
        r'<form method="post" action="/calendar/link">.*?<button class="([^"]*)"', page.text, re.S
    )
    assert button and "btn-ghost" not in button.group(1).split()
    assert (await client.get("/calendar/not-a-token.ics")).status_code == 404


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("submissions", {"report": "   "}, "请填写进展情况"),
        ("submissions", {"report": "x" * 10_001}, "不能超过 10000 字"),
        ("submissions", {"report": "进展", "evidence_ids": "abc"}, "证据编号无效"),
        ("extensions", {"requested_due_date": "2020-01-01", "reason": "原因"}, "必须晚于当前时间"),
        ("extensions", {"requested_due_date": "明天", "reason": "原因"}, "年-月-日"),
        ("extensions", {"requested_due_date": "2099-01-01", "reason": ""}, "请填写延期理由"),
    ],
)
async def test_bad_form_input_rerenders_with_a_message(login_as, world, path, form, message):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    response = await staff.client.post(
        f"/assignments/{world['green']}/{path}", data={"csrf_token": staff.csrf, **form}
    )
    assert response.status_code == 422
    assert message in response.text and "任务内容" in response.text


async def test_evidence_of_another_assignment_is_refused(login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    xhr = {"Accept": "application/json", "X-CSRFToken": staff.csrf}
    other = (
        await staff.client.post(
            f"/assignments/{world['red']}/evidence", files={"files": ("a.pdf", PDF)}, headers=xhr
        )
    ).json()[0]
    response = await staff.client.post(
        f"/assignments/{world['green']}/submissions",
        data={"csrf_token": staff.csrf, "report": "进展", "evidence_ids": str(other["id"])},
    )
    assert response.status_code == 422 and "不属于本事项" in response.text
    unknown = await staff.client.post(
        f"/assignments/{world['green']}/submissions",
        data={"csrf_token": staff.csrf, "report": "进展", "surprise": "1"},
    )
    assert unknown.status_code == 422


async def test_pages_follow_the_traditional_script_choice(login_as, world):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    inbox = await staff.client.get("/assignments", params={"lang": "zh-TW"})
    assert "任務收件箱" in inbox.text and "保持主要幫扶政策總體穩定" in inbox.text
    detail = await staff.client.get(f"/assignments/{world['green']}")
    assert "任務內容" in detail.text and "辦理記錄" in detail.text


@pytest.mark.parametrize("action", ["acknowledge", "submissions", "extensions", "evidence"])
async def test_forged_csrf_is_refused_on_every_form(login_as, world, db, action):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    form = {
        "csrf_token": "forged",
        "report": "进展",
        "reason": "理由",
        "requested_due_date": "2099-01-01",
    }
    with db.begin() as s:
        # Account creation and the sign-in are audited too: count from here.
        events_before = s.scalar(select(func.count()).select_from(AuditEvent))
    response = await staff.client.post(f"/assignments/{world['green']}/{action}", data=form)
    assert response.status_code == 403
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events_before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("submissions", {"report": ""}),
        ("submissions", {"report": "x" * 10_001}),
        ("submissions", {"report": "进展", "evidence_ids": ["abc"]}),
        ("submissions", {"report": "进展", "evidence_ids": "1"}),
        ("submissions", {"report": "进展", "surprise": True}),
        ("extensions", {"requested_due_at": "tomorrow", "reason": "理由"}),
        ("extensions", {"requested_due_at": "2099-01-01T00:00:00", "reason": "理由"}),
        ("extensions", {"requested_due_at": "2099-01-01T00:00:00+08:00", "reason": ""}),
        ("acknowledge", {"key": "k" * 101}),
    ],
)
async def test_bad_api_input_gets_422_with_a_detail(client, login_as, world, path, body):
    staff = await login_as(UserRole.STAFF, department=world["own"])
    headers = await api_token(client, staff.username)
    response = await client.post(
        f"/api/v1/assignments/{world['green']}/{path}", json=body, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["detail"]


def _stat(html: str, light: str) -> int:
    """Return the number shown beside a light on the home page or the inbox."""
    found = re.search(rf'<span class="light light-{light}"></span>(\d+)', html)
    assert found, light
    return int(found.group(1))


async def test_home_and_inbox_agree_on_lights_and_withdrawn_work(login_as, world, db):
    """One traffic-light rule: an overdue submitted report is green, a withdrawn one not counted."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(s, key="other-policy")
        own = s.scalars(select(Department).where(Department.code == world["own"])).one()
        make_assignment(
            s, policy=policy, department=own, state="submitted", due_at=now - timedelta(days=3)
        )
        make_assignment(
            s,
            policy=policy,
            department=own,
            item_number=6,
            due_at=now - timedelta(days=3),
            removed_in_version=2,
        )
    staff = await login_as(UserRole.STAFF, department=world["own"])
    home = (await staff.client.get("/")).text
    inbox = (await staff.client.get("/assignments")).text
    assert [_stat(home, c) for c in ("red", "amber")] == [_stat(inbox, c) for c in ("red", "amber")]
    assert (_stat(home, "red"), _stat(home, "amber")) == (1, 1)
    assert _stat(home, "green") + _stat(home, "done") == _stat(inbox, "green") == 2
