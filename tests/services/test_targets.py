"""Targets on SQLite and PostgreSQL: corrected on the draft, published with the task, actuals checked
and stored with a report, tracked and projected, exported and scored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from duban.errors import Invalid
from duban.models import (
    Assignment,
    AssignmentPeriod,
    Department,
    PolicyDraftChange,
    Submission,
    TargetActual,
    TaskTarget,
)
from duban.services.department import sync_departments
from duban.services.draft import Actor, create_draft, publish_draft
from duban.services.draft_edit import DraftEdit, apply_edits
from duban.services.target import (
    TARGET_EXPORT_HEADER,
    check_actuals,
    period_attainment,
    projected_misses,
    record_actuals,
    target_export_rows,
    targets_of,
    tracks_of,
)
from policies.units import load_registry

SAMPLE = (Path(__file__).parents[1] / "web" / "data" / "targets-fengong.txt").read_text("utf-8")
CLERK = Actor(user_id=None, label="王科员")


def _draft(session):
    sync_departments(session=session, registry=load_registry())
    return create_draft(session=session, text=SAMPLE, source_name="targets.txt", actor=CLERK)


def _edit(session, draft, *edits):
    return apply_edits(
        session=session,
        draft_id=draft.id,
        lock_version=draft.lock_version,
        edits=list(edits),
        actor=CLERK,
    )


def _target(ref, index=None, **fields):
    return DraftEdit(
        "target",
        ref,
        index=index,
        value=fields.get("value", "1200"),
        text=fields.get("text", ""),
        measure=fields.get("measure", "公里"),
        direction=fields.get("direction", "at_least"),
        scope=fields.get("scope", "每年"),
        deadline=fields.get("deadline", "2026-12-31"),
    )


def test_the_draft_holds_the_parsers_targets_unconfirmed(session):
    draft = _draft(session)
    road = draft.corrected["items"][1]
    assert [(t["value"], t["unit"], t["direction"]) for t in road["targets"]] == [
        (1000, "公里", "reach"),
        (85, "%", "at_least"),
    ]
    assert not any(t["confirmed"] for t in road["targets"])


def test_a_clerk_confirms_corrects_adds_and_removes_targets(session):
    draft = _draft(session)
    road = f"d{draft.id}-i2"
    _edit(
        session,
        draft,
        DraftEdit("confirm_target", road, index=1),
        _target(road, 0, value="1,200", text="新建农村公路1000公里"),
        _target(road, value="３０", measure="个", direction="reach", scope="累计", deadline=""),
    )
    targets = draft.corrected["items"][1]["targets"]
    assert [(t["value"], t["unit"], t["direction"], t["scope"]) for t in targets] == [
        (1200, "公里", "at_least", "每年"),
        (85, "%", "at_least", "每年"),
        (30, "个", "reach", "累计"),
    ]
    assert targets[0]["span"] is not None and targets[0]["confirmed"]  # kept its place in the text
    assert targets[1]["confirmed"] and targets[2]["deadline"] is None
    assert targets[2]["text"] == "累计达到30个"
    _edit(session, draft, DraftEdit("remove_target", road, index=2))
    assert len(draft.corrected["items"][1]["targets"]) == 2
    summaries = [c.summary for c in draft.changes]
    assert any("删除指标“累计达到30个”" in s for s in summaries)


@pytest.mark.parametrize(
    ("fields", "index", "words"),
    [
        ({"value": "abc"}, None, "不是有效的数字"),
        ({"value": "1e400"}, None, "不是有效的数字"),
        ({"value": ""}, None, "不是有效的数字"),
        ({"measure": "斤斤"}, None, "无法识别"),
        ({"measure": ""}, None, "请填写指标单位"),
        ({"direction": "more"}, None, "指标方向只能是"),
        ({"deadline": "2026-13-01"}, None, "指标期限“2026-13-01”无效"),
        ({"scope": "每" * 40}, None, "指标范围不能超过"),
        ({}, 9, "没有第 10 个指标"),
    ],
)
def test_a_bad_target_is_refused_and_nothing_is_written(session, fields, index, words):
    draft = _draft(session)
    road = f"d{draft.id}-i2"
    before = draft.corrected
    changes = session.scalar(select(func.count()).select_from(PolicyDraftChange))
    with pytest.raises(Invalid, match=words):
        # A good edit first: refused together with the bad one.
        _edit(
            session,
            draft,
            DraftEdit("confirm_target", road, index=0),
            _target(road, index, **fields),
        )
    session.refresh(draft)
    assert draft.lock_version == 1 and draft.corrected == before
    assert session.scalar(select(func.count()).select_from(PolicyDraftChange)) == changes


@pytest.mark.parametrize("op", ["remove_target", "confirm_target"])
def test_removing_or_confirming_a_missing_target_is_refused(session, op):
    draft = _draft(session)
    with pytest.raises(Invalid, match="没有第"):
        _edit(session, draft, DraftEdit(op, f"d{draft.id}-i3", index=0))
    assert draft.lock_version == 1


def _published(session):
    draft = _draft(session)
    road = f"d{draft.id}-i2"
    _edit(
        session,
        draft,
        DraftEdit("remove_unit", road, unit=2),
        _target(road, 0, value="1200", deadline="2027-12-31"),
        DraftEdit("confirm_target", road, index=1),
    )
    published = publish_draft(session=session, draft_id=draft.id, lock_version=None, actor=CLERK)
    lead = session.scalars(
        select(Assignment).where(
            Assignment.policy_id == published.policy_id,
            Assignment.item_number == 2,
            Assignment.role == "lead",
        )
    ).one()
    return published, lead


def test_published_targets_are_stored_with_the_task(session):
    _, lead = _published(session)
    targets = targets_of(session=session, assignment=lead)
    assert [(t.position, t.value, t.unit, t.direction, t.scope) for t in targets] == [
        (0, 1200.0, "公里", "at_least", "每年"),
        (1, 85.0, "%", "at_least", "每年"),
    ]
    assert targets[0].deadline_date == date(2027, 12, 31)
    poor = session.scalars(select(Assignment).where(Assignment.item_number == 3)).one()
    assert targets_of(session=session, assignment=poor) == []


def test_actuals_are_checked_for_their_unit(session):
    _, lead = _published(session)
    road, rate = (str(t.id) for t in targets_of(session=session, assignment=lead))
    ok = check_actuals(session=session, assignment=lead, raw={road: "1,050公里", rate: " 86.5％ "})
    assert ok == {road: 1050.0, rate: 86.5}
    bad = [
        ({road: "300"}, "请填写指标“达到85%以上”的实际值"),
        ({road: "abc", rate: "80"}, "不是有效的数字"),
        ({road: "300", rate: "80人"}, "单位应为“%”，不是“人”"),
        ({road: "300", rate: "120"}, "须在 0 至 100"),
        ({road: "-3", rate: "80"}, "不能为负数"),
        ({road: "300", rate: "80", "999999": "1"}, "没有编号为 999999 的指标"),
    ]
    for raw, words in bad:
        with pytest.raises(Invalid, match=words):
            check_actuals(session=session, assignment=lead, raw=raw)


def test_a_whole_unit_takes_no_fraction(session):
    _, lead = _published(session)
    road, rate = targets_of(session=session, assignment=lead)
    road.unit = "所"
    session.flush()
    with pytest.raises(Invalid, match="须为整数"):
        check_actuals(
            session=session, assignment=lead, raw={str(road.id): "2.5", str(rate.id): "80"}
        )


def _report(session, lead, index, day, values):
    sub = Submission(
        key=f"submit:{lead.id}:{index}:{day.isoformat()}",
        assignment_id=lead.id,
        period_index=index,
        report="进展",
        submitted_at=datetime.combine(day, datetime.min.time(), UTC),
    )
    session.add(sub)
    session.flush()
    record_actuals(session=session, submission_id=sub.id, actuals=values)
    session.flush()


def _periods(session, lead):
    for index in range(3):
        at = datetime(2026, 3, 31, tzinfo=UTC) + timedelta(days=91 * index)
        session.add(
            AssignmentPeriod(
                assignment_id=lead.id,
                index=index,
                due_at=at,
                original_due_at=at,
                label=f"第{index + 1}季度",
            )
        )
    session.flush()


def test_a_slow_trend_is_projected_to_miss_and_tracked_per_period(session):
    _, lead = _published(session)
    _periods(session, lead)
    road, rate = (str(t.id) for t in targets_of(session=session, assignment=lead))
    _report(session, lead, 0, date(2026, 3, 31), {road: 100, rate: 80})
    _report(session, lead, 1, date(2026, 6, 30), {road: 150, rate: 90})
    _report(session, lead, 1, date(2026, 7, 2), {road: 200, rate: 90})  # the last report counts
    today = date(2026, 7, 10)
    tracks = tracks_of(session=session, assignments=[lead], today=today)[lead.id]
    road_track = tracks[0]
    assert [(p.label, p.value) for p in road_track.series[0].points] == [
        ("第1季度", 100.0),
        ("第2季度", 200.0),
    ]
    projection = road_track.series[0].projection
    assert projection is not None and not projection.meets and projection.value < 1200
    rate_projection = tracks[1].series[0].projection
    assert rate_projection is not None and rate_projection.meets  # 85% is reached on that trend
    misses = projected_misses(session=session, assignments=[lead], today=today)
    assert misses[lead.id].target == 1200.0
    attained = period_attainment(
        session=session, assignment_ids=[lead.id], as_of=datetime(2026, 8, 1, tzinfo=UTC)
    )
    assert attained[(lead.id, 0)] == (0, 2) and attained[(lead.id, 1)] == (1, 2)


def test_the_export_lists_each_target_with_its_actuals(session):
    _, lead = _published(session)
    _periods(session, lead)
    road, rate = (str(t.id) for t in targets_of(session=session, assignment=lead))
    _report(session, lead, 0, date(2026, 3, 31), {road: 100, rate: 80})
    dept = session.get_one(Department, lead.department_id)
    rows = target_export_rows(
        session=session,
        assignments=[lead],
        titles={lead.id: "（二）加快农村公路建设"},
        today=date(2026, 4, 1),
    )
    assert len(rows) == 2 and all(len(r) == len(TARGET_EXPORT_HEADER) for r in rows)
    first = dict(zip(TARGET_EXPORT_HEADER, rows[0], strict=True))
    assert first["任务"] == "（二）加快农村公路建设" and first["单位"] == dept.name
    assert first["目标值"] == 1200.0 and first["计量单位"] == "公里" and first["方向"] == "不低于"
    assert first["期次"] == "第1季度" and first["实际值"] == 100.0 and first["趋势预计值"] == ""
    stored = session.scalar(select(func.count()).select_from(TargetActual))
    assert stored == 2 and session.scalar(select(func.count()).select_from(TaskTarget)) == 2
