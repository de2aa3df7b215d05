"""A sub-assignment's share of its parent's targets and the roll-up of the children's actuals, on
SQLite and PostgreSQL: a quantity is divided by the share and summed back, a rate is kept and
averaged by share; a share of 0, shares summing to 100 and a child that has not reported yet."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.models import Assignment, Policy, PolicyItem, PolicyVersion, Submission, TaskTarget
from duban.rules import is_rate_unit, rolled_up_value, shared_target_value
from duban.services.cascade import SubSpec, children_of, create_sub_assignment
from duban.services.target import (
    ROLLUP_LABEL,
    ShownTarget,
    period_attainment,
    record_actuals,
    rollup_tracks,
    targets_of,
    tracks_of,
)
from tests.services.cascade_seed import PARENT_DUE, assignment_of, publish_plan, user_of

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
TODAY = NOW.date()
DEADLINE = date(2027, 6, 30)


def test_a_share_divides_quantities_and_keeps_rates_and_time_limits() -> None:
    assert shared_target_value(300, unit="个", share=60) == 180
    assert shared_target_value(300, unit="万元", share=0) == 0
    assert shared_target_value(300, unit="个", share=None) == 300
    for unit in ("%", "个百分点", "倍", "个工作日"):
        assert is_rate_unit(unit)
        assert shared_target_value(85, unit=unit, share=40) == 85
    assert rolled_up_value("个", []) is None
    assert rolled_up_value("个", [(120, 60), (80, 40)]) == 200
    assert rolled_up_value("%", [(90, 60), (80, 40)]) == pytest.approx(86)
    assert rolled_up_value("%", [(90, 0), (80, 0)]) == 85  # no weights: the plain mean


def _item_targets(session: Session, parent: Assignment) -> list[TaskTarget]:
    item_id = session.scalars(
        select(PolicyItem.id)
        .join(PolicyVersion, PolicyVersion.id == PolicyItem.version_id)
        .join(Policy, Policy.id == PolicyVersion.policy_id)
        .where(
            Policy.id == parent.policy_id,
            PolicyVersion.version == Policy.current_version,
            PolicyItem.number == parent.item_number,
        )
    ).one()
    targets = [
        TaskTarget(
            item_id=item_id,
            position=0,
            text="建成村级服务站300个",
            value=300,
            unit="个",
            direction="at_least",
            deadline_date=DEADLINE,
        ),
        TaskTarget(
            item_id=item_id,
            position=1,
            text="覆盖率不低于85%",
            value=85,
            unit="%",
            direction="at_least",
            deadline_date=DEADLINE,
        ),
    ]
    session.add_all(targets)
    session.flush()
    return targets


def _split(session: Session, shares: dict[str, int]) -> tuple[Assignment, list[Assignment]]:
    policy_id = publish_plan(session)
    parent = assignment_of(session, policy_id, 2, "jl-rst")
    parent.due_at = PARENT_DUE
    session.flush()
    _item_targets(session, parent)
    staff = user_of(session, "rst", "staff", "jl-rst")
    for code, share in shares.items():
        create_sub_assignment(
            session=session,
            parent=parent,
            spec=SubSpec(code, PARENT_DUE - timedelta(days=30), share),
            user=staff,
            now=NOW,
        )
    return parent, children_of(session=session, assignment_id=parent.id)


def _report(session: Session, child: Assignment, day: date, figures: tuple[float, float]) -> None:
    sub = Submission(
        key=f"submit:{child.id}:0:{day.isoformat()}",
        assignment_id=child.id,
        period_index=0,
        report="进展",
        submitted_at=datetime.combine(day, datetime.min.time(), UTC),
    )
    session.add(sub)
    session.flush()
    ids = [str(t.id) for t in targets_of(session=session, assignment=child)]
    record_actuals(
        session=session, submission_id=sub.id, actuals=dict(zip(ids, figures, strict=True))
    )
    session.flush()


def test_each_child_reports_against_its_share_and_the_parent_sees_the_sum(session: Session) -> None:
    parent, kids = _split(session, {"jl-cc": 60, "jl-jlc": 40})
    cc, jlc = kids
    per = tracks_of(session=session, assignments=[parent, cc, jlc], today=TODAY)
    count, rate = per[cc.id]
    assert isinstance(count.target, ShownTarget)
    assert (count.target.value, count.target.full_value) == (180, 300)
    assert count.words == "不低于180个" and count.target.share_note == "上级指标 300个 的 60%"
    assert rate.target.value == 85  # a rate is each unit's, not divided
    assert per[jlc.id][0].target.value == 120
    assert per[parent.id][0].target.value == 300  # the parent keeps the task's own target

    _report(session, cc, date(2026, 12, 1), (100, 90))
    _report(session, cc, date(2026, 12, 2), (150, 90))  # the latest report of the period counts
    _report(session, jlc, date(2026, 12, 2), (120, 80))
    count_roll, rate_roll = rollup_tracks(
        session=session, parent=parent, children=kids, today=TODAY
    )
    assert [s.label for s in count_roll.series] == [
        "长春市人民政府",
        "吉林市人民政府",
        ROLLUP_LABEL,
    ]
    total = count_roll.series[-1]
    assert [(p.value, p.label) for p in total.points] == [(270.0, "第1期（2/2 单位）")]
    assert total.projection is None or total.projection.target == 300
    assert rate_roll.series[-1].points[0].value == pytest.approx(86)  # 90×60% + 80×40%
    assert count_roll.target.value == 300
    assert all(s.projection is None for s in count_roll.series[:-1])

    # Each child is scored on its own share: 长春 150 of 180 no, 90% yes; 吉林 120 of 120 yes
    # (of the whole 300 it would not be), 80% no.
    attained = period_attainment(
        session=session, assignment_ids=[cc.id, jlc.id], as_of=NOW + timedelta(days=1)
    )
    assert attained[(cc.id, 0)] == (1, 2) and attained[(jlc.id, 0)] == (1, 2)


def test_a_share_of_0_and_a_child_with_no_report_yet(session: Session) -> None:
    parent, kids = _split(session, {"jl-cc": 100, "jl-jlc": 0, "jl-sp": 0})
    by_code = {k.department.code: k for k in kids}
    cc, jlc, sp = by_code["jl-cc"], by_code["jl-jlc"], by_code["jl-sp"]
    per = tracks_of(session=session, assignments=kids, today=TODAY)
    assert per[jlc.id][0].target.value == 0 and per[sp.id][0].target.value == 0
    assert per[cc.id][0].target.value == 300

    assert [
        t.series[-1].points
        for t in rollup_tracks(session=session, parent=parent, children=kids, today=TODAY)
    ] == [(), ()]  # nobody reported: an empty roll-up, no error

    _report(session, cc, date(2026, 12, 2), (200, 70))
    _report(session, jlc, date(2026, 12, 2), (5, 100))  # a share of 0 still adds what it did
    count_roll, rate_roll = rollup_tracks(
        session=session, parent=parent, children=kids, today=TODAY
    )
    labels = [s.label for s in count_roll.series]
    assert labels[-1] == ROLLUP_LABEL and len(labels) == 4
    assert [(p.value, p.label) for p in count_roll.series[-1].points] == [
        (205.0, "第1期（2/3 单位）")
    ]
    no_report = [s for s in count_roll.series if s.label == sp.department.name]
    assert no_report and no_report[0].points == ()
    # The rate weighs 70% by 100 and 100% by 0: the share-weighted mean is 70%.
    assert rate_roll.series[-1].points[0].value == pytest.approx(70)


def test_an_assignment_with_no_children_has_no_roll_up(session: Session) -> None:
    parent, kids = _split(session, {})
    assert kids == []
    assert rollup_tracks(session=session, parent=parent, children=kids, today=TODAY) == []
