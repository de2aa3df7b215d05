"""The cascade (层层分解) through the API and pages on real workflows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Policy, PolicyItem, PolicyVersion, TaskTarget
from duban.services.department import sync_departments
from duban.services.orgtree import sync_tree
from policies.orgtree import load_tree
from policies.units import load_registry
from tests.db import BACKENDS
from tests.services.cascade_seed import PLAN
from tests.web.browser import add_user, api_token
from tests.web.workspace_temporal import eventually, live_app, workspace_temporal
from web.i18n import SHANGHAI

__all__ = ["live_app", "workspace_temporal"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This runs on both databases."""
    return str(request.param)


@pytest.fixture
def app(live_app):
    """The app wired to the dev server and a worker."""
    return live_app


def at(days: int) -> str:
    """Return the end of the day `days` ahead in Beijing time, RFC 3339."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return f"{day.isoformat()}T23:59:59+08:00"


def seed_tree(db) -> None:
    with db.begin() as s:
        sync_departments(session=s, registry=load_registry())
        sync_tree(session=s, nodes=load_tree())


async def _opened(db, ids: list[int]) -> None:
    async def check() -> bool:
        with db() as s:
            stmt = select(func.count()).where(
                AuditEvent.kind == "period_opened", AuditEvent.assignment_id.in_(ids)
            )
            return bool(s.scalar(stmt) == len(ids))

    await eventually(check)


async def _province_task(db, client) -> int:
    sup = await api_token(client, add_user(db, UserRole.SUPERVISOR)[1])
    body = {
        "title": "村庄规划编制",
        "body": "年内完成。",
        "units": ["jl-rst"],
        "deadline": at(60)[:10],
    }
    made = await client.post("/api/v1/adhoc-tasks", json=body, headers=sup)
    assert made.status_code == 201, made.text
    parent_id = made.json()["assignment_ids"][0]
    await _opened(db, [parent_id])
    return int(parent_id)


def _add_target(db, assignment_id: int) -> int:
    """Give the task of an assignment a target of 300 个 (as a clerk would on the review screen)."""
    with db.begin() as s:
        a = s.get_one(Assignment, assignment_id)
        item_id = s.scalars(
            select(PolicyItem.id)
            .join(PolicyVersion, PolicyVersion.id == PolicyItem.version_id)
            .join(Policy, Policy.id == PolicyVersion.policy_id)
            .where(
                Policy.id == a.policy_id,
                PolicyVersion.version == Policy.current_version,
                PolicyItem.number == a.item_number,
            )
        ).one()
        target = TaskTarget(
            item_id=item_id, position=0, text="编制300个", value=300, unit="个", direction="reach"
        )
        s.add(target)
        s.flush()
        return target.id


async def test_a_province_department_splits_to_two_cities_and_sees_the_roll_up(
    app, db, client, login_as
):
    seed_tree(db)
    parent_id = await _province_task(db, client)
    target_id = _add_target(db, parent_id)
    rst = await api_token(client, add_user(db, UserRole.STAFF, "jl-rst")[1])
    cc = await api_token(client, add_user(db, UserRole.STAFF, "jl-cc")[1])
    jlc = await api_token(client, add_user(db, UserRole.STAFF, "jl-jlc")[1])
    url = f"/api/v1/assignments/{parent_id}/subassignments"

    made = await client.post(
        url, json={"department": "jl-cc", "due_at": at(30), "share": 60}, headers=rst
    )
    assert made.status_code == 201, made.text
    made = await client.post(
        url, json={"department": "jl-jlc", "due_at": at(30), "share": 40}, headers=rst
    )
    assert made.status_code == 201, made.text
    cascade = made.json()
    assert [c["department"]["code"] for c in cascade["children"]] == ["jl-cc", "jl-jlc"]
    assert cascade["shares"] == 100 and cascade["open"] == 2 and cascade["blocked_reason"]
    kids = {c["department"]["code"]: c["id"] for c in cascade["children"]}
    await _opened(db, list(kids.values()))

    # Bad input: a clear 4xx, nothing written.
    for bad, code in (
        ({"department": "jl-sp", "due_at": at(90), "share": 0}, "child_due_after_parent"),
        ({"department": "jl-sp", "due_at": at(10), "share": 1}, "shares_over_100"),
        ({"department": "jl-fpb", "due_at": at(10), "share": 0}, "not_below"),
    ):
        refused = await client.post(url, json=bad, headers=rst)
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
    malformed: tuple[dict[str, object], ...] = (
        {"department": "jl-sp", "due_at": at(10), "share": "5"},
        {"department": "jl-sp", "due_at": "2027-01-01", "share": 5},
        {"department": "jl-sp", "due_at": at(10), "share": 5, "x": 1},
    )
    for wrong in malformed:
        assert (await client.post(url, json=wrong, headers=rst)).status_code == 422
    # Another department's assignment: 404; the parent's department may not act for a child.
    assert (
        await client.post(url, json={"department": "jl-sp", "due_at": at(10)}, headers=cc)
    ).status_code == 404
    assert (await client.get(url, headers=cc)).status_code == 404
    child_url = f"/api/v1/assignments/{kids['jl-cc']}"
    assert (await client.get(child_url, headers=rst)).status_code == 200
    assert (await client.post(f"{child_url}/acknowledge", json={}, headers=rst)).status_code == 403
    with db() as s:
        assert s.scalar(select(func.count()).where(Assignment.parent_id == parent_id)) == 2

    # The parent cannot report as done while its children are open.
    assert (
        await client.post(f"/api/v1/assignments/{parent_id}/acknowledge", json={}, headers=rst)
    ).status_code == 200
    blocked = await client.post(
        f"/api/v1/assignments/{parent_id}/submissions", json={"report": "已完成"}, headers=rst
    )
    assert blocked.status_code == 409 and "长春市人民政府" in blocked.json()["detail"]
    page_user = await login_as(UserRole.STAFF, "jl-rst")
    page = await page_user.client.get(f"/assignments/{parent_id}")
    assert (
        "暂不能报送办结" in page.text
        and "吉林市人民政府" in page.text
        and 'id="rollup"' in page.text
    )

    for headers, kid, actual, share in (
        (cc, kids["jl-cc"], 170, 180),
        (jlc, kids["jl-jlc"], 110, 120),
    ):
        child = f"/api/v1/assignments/{kid}"
        shown = (await client.get(child, headers=headers)).json()["targets"]
        assert [(t["id"], t["value"]) for t in shown] == [(target_id, share)]  # its share of 300
        assert (
            await client.post(f"{child}/acknowledge", json={}, headers=headers)
        ).status_code == 200
        report = {"report": "本市已完成", "actuals": [{"target_id": target_id, "value": actual}]}
        sent = await client.post(f"{child}/submissions", json=report, headers=headers)
        assert sent.status_code == 201, sent.text
    page = await page_user.client.get(f"/assignments/{parent_id}")
    assert 'id="rollup-charts"' in page.text and "下级合计" in page.text
    assert ">280</td>" in page.text  # 170 + 110 in the roll-up chart's table
    roll = (await client.get(url, headers=rst)).json()
    assert roll["open"] == 0 and roll["reported"] == 2 and roll["blocked_reason"] is None
    done = await client.post(
        f"/api/v1/assignments/{parent_id}/submissions",
        json={"report": "全省已完成", "actuals": [{"target_id": target_id, "value": 280}]},
        headers=rst,
    )
    assert done.status_code == 201, done.text

    sup = await api_token(client, add_user(db, UserRole.SUPERVISOR)[1])
    board = (await client.get("/api/v1/board", params={"under": "jl-gov"}, headers=sup)).json()
    rows = {r["assignment_id"]: r for r in board["rows"]}
    children = {c["department"]["code"]: c for c in rows[parent_id]["children"]}
    assert set(children) == {"jl-cc", "jl-jlc"}
    cc_target = children["jl-cc"]["targets"][0]
    assert (cc_target["value"], [p["value"] for p in cc_target["actuals"]]) == (180, [170])
    assert rows[kids["jl-cc"]]["parent_id"] == parent_id
    narrowed = (await client.get("/api/v1/board", params={"under": "jl-cc"}, headers=sup)).json()
    assert [r["assignment_id"] for r in narrowed["rows"]] == [kids["jl-cc"]]
    cockpit = (await client.get("/api/v1/cockpit", params={"under": "jl-gov"}, headers=sup)).json()
    assert {"jl-rst", "jl-cc", "jl-jlc"} <= {u["key"] for u in cockpit["by_unit"]}
    assert (
        await client.get("/api/v1/cockpit", params={"under": "nowhere"}, headers=sup)
    ).status_code == 404


async def test_split_form_waiver_and_the_org_admin_pages(app, db, client, login_as):
    seed_tree(db)
    parent_id = await _province_task(db, client)
    rst = await login_as(UserRole.STAFF, "jl-rst")
    page = await rst.client.get(f"/assignments/{parent_id}")
    assert "分解给内设机构或下级单位" in page.text and "长春市人民政府" in page.text
    form = {"csrf_token": rst.csrf, "department": "jl-cc", "due_date": at(90)[:10], "share": "30"}
    late = await rst.client.post(f"/assignments/{parent_id}/subassignments", data=form)
    assert late.status_code == 422 and "不能晚于上级任务" in late.text and 'value="30"' in late.text
    bad_share = await rst.client.post(
        f"/assignments/{parent_id}/subassignments",
        data={**form, "due_date": at(5)[:10], "share": "百"},
    )
    assert bad_share.status_code == 422 and "整数" in bad_share.text
    made = await rst.client.post(
        f"/assignments/{parent_id}/subassignments", data={**form, "due_date": at(5)[:10]}
    )
    assert made.status_code == 303

    sup = await login_as(UserRole.SUPERVISOR)
    # The review screen says whom a collective unit will fan out to.
    token = await api_token(client, sup.username)
    draft = await client.post("/api/v1/policies/drafts", json={"text": PLAN}, headers=token)
    assert draft.status_code == 201, draft.text
    review = await sup.client.get(f"/policies/drafts/{draft.json()['id']}")
    assert "交办时分解到 9 个下级政府" in review.text and "延边朝鲜族自治州人民政府" in review.text
    shown = await sup.client.get(f"/assignments/{parent_id}")
    assert "豁免未完成的分解任务" in shown.text
    empty = await sup.client.post(
        f"/assignments/{parent_id}/cascade-waiver", data={"csrf_token": sup.csrf, "reason": ""}
    )
    assert empty.status_code == 422 and "豁免理由" in empty.text
    waived = await sup.client.post(
        f"/assignments/{parent_id}/cascade-waiver",
        data={"csrf_token": sup.csrf, "reason": "市里另行安排"},
    )
    assert waived.status_code == 303
    with db() as s:
        assert (
            s.scalar(
                select(func.count()).where(
                    AuditEvent.kind == "cascade_waived", AuditEvent.assignment_id == parent_id
                )
            )
            == 1
        )
    assert "暂不能报送办结" not in (await rst.client.get(f"/assignments/{parent_id}")).text
    assert (
        await rst.client.post(
            f"/assignments/{parent_id}/cascade-waiver", data={"csrf_token": rst.csrf, "reason": "x"}
        )
    ).status_code == 403

    admin = await login_as(UserRole.ADMIN)
    tree = await admin.client.get("/admin/org")
    assert tree.status_code == 200 and "吉林省人民政府" in tree.text
    cycle = {
        "csrf_token": admin.csrf,
        "code": "jl-gov",
        "parent": "jl-cc",
        "kind": "government",
        "level": "province",
    }
    refused = await admin.client.post("/admin/org", data=cycle)
    assert refused.status_code == 422 and "循环" in refused.text
    moved = await admin.client.post(
        "/admin/org", data={**cycle, "code": "jl-cc-na", "parent": "jl-bs", "level": "county"}
    )
    assert moved.status_code == 303
    token = await api_token(client, admin.username)
    node = await client.put(
        "/api/v1/org/jl-cc-na",
        json={"parent": "jl-cc", "kind": "government", "level": "county"},
        headers=token,
    )
    assert node.status_code == 200 and node.json()["parent"] == "jl-cc"
    cyc = await client.put(
        "/api/v1/org/jl-gov",
        json={"parent": "jl-cc-na", "kind": "government", "level": "province"},
        headers=token,
    )
    assert cyc.status_code == 422 and cyc.json()["code"] == "tree_cycle"
    assert (await client.put("/api/v1/org/nowhere", json={}, headers=token)).status_code == 404
    staff_token = await api_token(client, add_user(db, UserRole.STAFF, "jl-rst")[1])
    assert (
        await client.put("/api/v1/org/jl-cc-na", json={}, headers=staff_token)
    ).status_code == 403
    org = (await client.get("/api/v1/org", headers=staff_token)).json()
    assert next(n for n in org if n["code"] == "jl-cc")["parent"] == "jl-gov"
