"""A report carries the actual of each target, through the real workflow, on both databases: bad
units and numbers are a 422 with nothing stored (page and API); good ones are stored with the
submission and drawn on the chart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import PolicyItem, Submission, TargetActual, TaskTarget
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token, new_client
from tests.web.workspace_temporal import eventually, live_app, start_and_wait, workspace_temporal
from tests.workspace import make_assignment, make_department, make_policy

__all__ = ["live_app", "workspace_temporal"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Actuals are rows: check on both databases."""
    return str(request.param)


@pytest.fixture
def app(live_app):
    return live_app


@pytest.fixture
async def started(app, db):
    """One item with two targets (300 个 and 85 %), led by fpb, its workflow running."""
    with db.begin() as s:
        policy = make_policy(s)
        fpb = make_department(s, "fpb", "省扶贫办")
        lead = make_assignment(s, policy=policy, department=fpb, periods=0)
        item = s.scalars(select(PolicyItem).where(PolicyItem.number == 5)).one()
        deadline = (utcnow() + timedelta(days=365)).date()
        targets = [
            TaskTarget(item_id=item.id, position=0, text="每年认定300个", value=300, unit="个",
                       direction="at_least", scope="每年", deadline_date=deadline),
            TaskTarget(item_id=item.id, position=1, text="达到85%以上", value=85, unit="%",
                       direction="at_least", deadline_date=deadline),
        ]  # fmt: skip
        s.add_all(targets)
        s.flush()
        key, aid, ids = policy.key, lead.id, [str(t.id) for t in targets]
    await start_and_wait(app, key, [aid])
    return {"aid": aid, "targets": ids}


def _stored(db) -> tuple[int, int]:
    with db() as s:
        subs = s.scalar(select(func.count()).select_from(Submission)) or 0
        actuals = s.scalar(select(func.count()).select_from(TargetActual)) or 0
        return subs, actuals


async def test_the_api_refuses_bad_actuals_and_stores_good_ones(app, started, db):
    aid, (count, rate) = started["aid"], started["targets"]
    async with new_client(app) as api:
        _, username = add_user(db, UserRole.STAFF, "fpb")
        headers = await api_token(api, username)
        ack = await api.post(f"/api/v1/assignments/{aid}/acknowledge", json={}, headers=headers)
        assert ack.status_code == 200
        url = f"/api/v1/assignments/{aid}/submissions"
        bad_bodies = [
            ([{"target_id": int(count), "value": 120}], "请填写指标“达到85%以上”的实际值"),
            ([{"target_id": int(count), "value": "12o"}, {"target_id": int(rate), "value": 80}],
             "不是有效的数字"),
            ([{"target_id": int(count), "value": 120}, {"target_id": int(rate), "value": "80人"}],
             "单位应为“%”"),
            ([{"target_id": int(count), "value": 12.5}, {"target_id": int(rate), "value": 80}],
             "须为整数"),
            ([{"target_id": int(count), "value": 120}, {"target_id": int(rate), "value": 180}],
             "须在 0 至 100"),
        ]  # fmt: skip
        for actuals, words in bad_bodies:
            body = {"key": "s-bad", "report": "进展", "actuals": actuals}
            refused = await api.post(url, json=body, headers=headers)
            assert refused.status_code == 422, refused.text
            assert words in refused.text
        assert _stored(db) == (0, 0)
        wrong_type = await api.post(
            url,
            json={"report": "进展", "actuals": [{"target_id": int(count), "value": True}]},
            headers=headers,
        )
        assert wrong_type.status_code == 422
        good = [{"target_id": int(count), "value": 120}, {"target_id": int(rate), "value": "82.5%"}]
        sent = await api.post(
            url, json={"key": "s1", "report": "进展", "actuals": good}, headers=headers
        )
        assert sent.status_code == 201, sent.text

        async def stored() -> bool:
            return _stored(db) == (1, 2)

        assert await eventually(stored)
        detail = (await api.get(f"/api/v1/assignments/{aid}", headers=headers)).json()
    assert [(t["unit"], [p["value"] for p in t["actuals"]]) for t in detail["targets"]] == [
        ("个", [120]),
        ("%", [82.5]),
    ]


async def test_the_page_keeps_typed_actuals_on_a_refusal_and_stores_good_ones(
    login_as, started, db
):
    aid, (count, rate) = started["aid"], started["targets"]
    staff = await login_as(UserRole.STAFF, department="fpb")
    ack = await staff.client.post(
        f"/assignments/{aid}/acknowledge", data={"csrf_token": staff.csrf, "key": "a"}
    )
    assert ack.status_code == 303
    form = {
        "csrf_token": staff.csrf,
        "key": "p1",
        "report": "本季度认定一批脱贫村。",
        "target_ids": [count, rate],
        "actuals": ["150", "八十"],
    }
    refused = await staff.client.post(f"/assignments/{aid}/submissions", data=form)
    assert refused.status_code == 422 and "不是有效的数字" in refused.text
    assert 'value="150"' in refused.text and "本季度认定一批脱贫村。" in refused.text
    assert _stored(db) == (0, 0)
    unpaired = await staff.client.post(
        f"/assignments/{aid}/submissions", data={**form, "actuals": ["150"]}
    )
    assert unpaired.status_code == 422 and "指标实际值与指标不对应" in unpaired.text
    sent = await staff.client.post(
        f"/assignments/{aid}/submissions", data={**form, "actuals": ["150", "80"]}
    )
    assert sent.status_code == 303

    async def stored() -> bool:
        return _stored(db) == (1, 2)

    assert await eventually(stored)
    page = (await staff.client.get(f"/assignments/{aid}")).text
    chart = page.split('class="target-chart"', 1)[1].split("</figure>", 1)[0]
    assert '<td class="num">150</td>' in chart and "<svg" in chart
