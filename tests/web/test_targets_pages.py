"""Targets on the pages, on both databases: the review screen's target edits, the amber light of a
projected miss on inbox, board and policy page, the chart with its table, the assignment JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Assignment, PolicyDraft, PolicyItem, Submission, TaskTarget
from duban.services.inbox import traffic
from duban.services.target import record_actuals
from tests.db import BACKENDS
from tests.web.browser import api_token
from tests.web.drafting import article as card
from tests.web.drafting import upload_draft
from tests.workspace import make_assignment, make_department, make_policy

SAMPLE = (Path(__file__).parent / "data" / "targets-fengong.txt").read_bytes()
HTMX = {"HX-Request": "true"}
TRADITIONAL = {"Accept-Language": "zh-TW"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Targets and actuals are rows: check the pages on both databases."""
    return str(request.param)


async def _draft(clerk) -> tuple[str, int]:
    return await upload_draft(clerk, SAMPLE, "targets.txt")


async def test_a_clerk_confirms_corrects_and_adds_targets_on_the_review_screen(
    login_as, registry, db
):
    clerk = await login_as(UserRole.SUPERVISOR)
    url, draft_id = await _draft(clerk)
    road = f"d{draft_id}-i2"
    page = (await clerk.client.get(url)).text
    article = card(page, road)
    assert "指标：每年达到1000公里" in article and "待确认" in article
    assert 'class="hl hl-target"' in page  # the target is marked in the source text
    form = {"csrf_token": clerk.csrf, "item": road}
    fields = {"measure": "公里", "direction": "at_least", "scope": "每年", "deadline": "2026-12-31"}
    done = await clerk.client.post(
        f"{url}/edit",
        data={**form, "lock_version": "1", "op": "target", "index": "0", "value": "1200", **fields},
        headers=HTMX,
    )
    assert done.status_code == 200
    assert "指标：每年不低于1200公里" in card(done.text, road)
    bad = await clerk.client.post(
        f"{url}/edit",
        data={**form, "lock_version": "2", "op": "target", "value": "12o0", **fields},
    )
    assert bad.status_code == 422 and "指标数值“12o0”不是有效的数字" in bad.text
    bad_date = await clerk.client.post(
        f"{url}/edit",
        data={
            **form,
            "lock_version": "2",
            "op": "target",
            "value": "5",
            **fields,
            "deadline": "2026-02-30",
        },
    )
    assert bad_date.status_code == 422 and "指标期限“2026-02-30”无效" in bad_date.text
    bad_unit = await clerk.client.post(
        f"{url}/edit",
        data={
            **form,
            "lock_version": "2",
            "op": "target",
            "value": "5",
            **fields,
            "measure": "斤斤",
        },
    )
    assert bad_unit.status_code == 422 and "无法识别" in bad_unit.text
    confirm = await clerk.client.post(
        f"{url}/edit", data={**form, "lock_version": "2", "op": "confirm_target", "index": "1"}
    )
    assert confirm.status_code == 303
    with db() as s:
        draft = s.get_one(PolicyDraft, draft_id)
        targets = draft.corrected["items"][1]["targets"]
        assert draft.lock_version == 3  # the refused edits wrote nothing
        assert [(t["value"], t["direction"], t["confirmed"]) for t in targets] == [
            (1200, "at_least", True),
            (85, "at_least", True),
        ]


async def test_the_api_patches_targets_and_refuses_bad_ones_whole(login_as, registry, client):
    clerk = await login_as(UserRole.SUPERVISOR)
    headers = await api_token(client, clerk.username)
    made = await client.post(
        "/api/v1/policies/drafts", json={"text": SAMPLE.decode()}, headers=headers
    )
    body = made.json()
    road = body["items"][1]["id"]
    assert [t["value"] for t in body["items"][1]["targets"]] == [1000, 85]
    good = {"op": "target", "item": road, "value": "30", "measure": "个", "direction": "reach"}
    bad = {**good, "direction": "sideways"}
    refused = await client.patch(
        f"/api/v1/policies/drafts/{body['id']}",
        json={"lock_version": 1, "edits": [good, bad]},
        headers=headers,
    )
    assert refused.status_code == 422 and "指标方向只能是" in refused.text
    patched = await client.patch(
        f"/api/v1/policies/drafts/{body['id']}",
        json={
            "lock_version": 1,
            "edits": [good, {"op": "remove_target", "item": road, "index": 0}],
        },
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    targets = patched.json()["items"][1]["targets"]
    assert [(t["value"], t["unit"], t["text"]) for t in targets] == [
        (85, "%", "达到85%以上"),
        (30, "个", "达到30个"),
    ]


def _seed_slow_target(db) -> dict[str, int | str]:
    """An assignment due in 60 days whose target of 300 shows a slow trend (30, then 60)."""
    today = utcnow().date()
    with db.begin() as s:
        policy = make_policy(s)
        dept = make_department(s)
        a = make_assignment(
            s,
            policy=policy,
            department=dept,
            state="acknowledged",
            due_at=utcnow() + timedelta(days=60),
        )
        item = s.query(PolicyItem).filter_by(number=5).one()
        target = TaskTarget(
            item_id=item.id,
            position=0,
            text="每年认定300个",
            value=300,
            unit="个",
            direction="at_least",
            scope="每年",
            deadline_date=today + timedelta(days=200),
        )
        s.add(target)
        s.flush()
        for index, (ago, value) in enumerate(((90, 30.0), (1, 60.0))):
            sub = Submission(
                key=f"k{index}",
                assignment_id=a.id,
                period_index=index,
                report="进展",
                state="approved",
                submitted_at=datetime.combine(
                    today - timedelta(days=ago), datetime.min.time(), UTC
                ),
            )
            s.add(sub)
            s.flush()
            record_actuals(session=s, submission_id=sub.id, actuals={str(target.id): value})
        return {"aid": a.id, "policy": policy.id, "dept": dept.code, "target": target.id}


async def test_a_projected_miss_turns_the_light_amber_everywhere_with_the_chart(login_as, db):
    seeded = _seed_slow_target(db)
    aid = seeded["aid"]
    staff = await login_as(UserRole.STAFF, department=str(seeded["dept"]))
    inbox = (await staff.client.get("/assignments")).text
    row = inbox.split(f'href="/assignments/{aid}"', 1)[0].rsplit("<tr", 1)[1]
    assert "light-amber" in row
    detail = (await staff.client.get(f"/assignments/{aid}")).text
    assert 'class="light light-amber"' in detail and "指标预计难以完成" in detail
    chart = detail.split('class="target-chart"', 1)[1].split("</figure>", 1)[0]
    assert re.search(r'<svg [^>]*role="img"[^>]*aria-labelledby="tc-title-', chart)
    assert "<title" in chart and 'class="target-line"' in chart and 'class="projection' in chart
    assert "<table" in chart and "<caption>每年不低于300个：各期实际值</caption>" in chart
    assert '<td class="num">30</td>' in chart and '<td class="num">60</td>' in chart
    assert "预计难以达标" in chart and "<script" not in detail.split('id="workspace"', 1)[1]
    hant = (await staff.client.get(f"/assignments/{aid}", headers=TRADITIONAL)).text
    assert "指標預計難以完成" in hant and "各期實際值" in hant
    with db() as s:
        dept_id = s.get_one(Assignment, aid).department_id
        assert traffic(session=s, department_id=dept_id, now=utcnow())["amber"] == 1  # home
    listed = (await staff.client.get("/api/v1/assignments")).json()
    assert [r["light"] for r in listed if r["id"] == aid] == ["amber"]
    api = (await staff.client.get(f"/api/v1/assignments/{aid}")).json()
    assert api["light"] == "amber" and "指标预计难以完成" in api["light_reason"]
    [target] = api["targets"]
    assert target["value"] == 300 and target["unit"] == "个" and target["direction"] == "at_least"
    assert [p["value"] for p in target["actuals"]] == [30, 60]
    assert target["projection"]["meets"] is False and target["projection"]["value"] < 300
    sup = await login_as(UserRole.SUPERVISOR)
    board = (await sup.client.get("/api/v1/board")).json()
    assert board["counts"]["amber"] >= 1
    page = (await sup.client.get(f"/policies/{seeded['policy']}")).text
    assert 'class="target-chart"' in page and "指标进展" in page


async def test_a_report_form_has_a_field_per_target(login_as, db):
    seeded = _seed_slow_target(db)
    staff = await login_as(UserRole.STAFF, department=str(seeded["dept"]))
    detail = (await staff.client.get(f"/assignments/{seeded['aid']}")).text
    form = detail.split('id="submit-form"', 1)[1].split("</form>", 1)[0]
    assert f'name="target_ids" value="{seeded["target"]}"' in form
    assert 'name="actuals"' in form and "单位：个" in form
