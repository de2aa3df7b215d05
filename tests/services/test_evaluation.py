"""Rubric versions and frozen evaluations on both databases: recompute, freeze, compare."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from duban.errors import Conflict, Invalid
from duban.models import AuditEvent, Evaluation, RubricVersion, User
from duban.services.assessment import scores
from duban.services.audit import chain_head
from duban.services.evaluation import (
    compare,
    current_rubric,
    freeze,
    get_evaluation,
    list_evaluations,
    rubric_history,
    save_rubric,
)
from policies.rubric import DEFAULT_PATH
from tests.services.test_assessment import AS_OF, DAY, DUE, World, new_assignment, recorder, world
from tests.workspace import make_policy, make_user

__all__ = ["recorder", "world"]  # fixtures shared with the read-model scenario


def bumped(completion: float = 20.0, version: str = "2026-12-01") -> str:
    """Return the bundled rubric with another completion value and version."""
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    text = text.replace('version = "2026-11-28"', f'version = "{version}"')
    return text.replace("points = 10.0", f"points = {completion}")


@pytest.fixture
def assessor(session: Session) -> User:
    """An assessment officer."""
    return make_user(session, "assessor", username="kaohe", display_name="考核办王")


def test_bundled_file_is_the_first_version(session: Session):
    [row] = rubric_history(session=session)
    assert (row.version, row.created_by_label) == ("2026-11-28", "默认细则文件")
    assert current_rubric(session=session).completion_points == 10.0


def test_rubric_change_recomputes_without_touching_events(world: World, assessor: User):
    s = world.session
    before = scores(
        session=s, rubric=current_rubric(session=s), period="2026Q4", by="department", as_of=AS_OF
    )
    events = s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    row, created = save_rubric(session=s, source=bumped(), user=assessor)
    assert created and (row.version, row.created_by_label) == ("2026-12-01", "考核办王")
    after = scores(
        session=s, rubric=current_rubric(session=s), period="2026Q4", by="department", as_of=AS_OF
    )
    assert {r.key: r.score for r in before} == {"dA": 12.0, "dB": 1.5}
    assert {r.key: r.score for r in after} == {"dA": 22.0, "dB": 11.5}
    assert s.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all() == events
    assert [r.version for r in rubric_history(session=s)] == ["2026-12-01", "2026-11-28"]


def test_bad_rubric_is_refused_and_changes_nothing(session: Session, assessor: User):
    count = len(rubric_history(session=session))
    for source, hint in (
        ("version = [", "TOML"),
        (bumped().replace("per_day = 0.5", 'per_day = "半分"'), "lateness.per_day"),
        (bumped().replace("cap = 5.0", "cap = -5.0"), "must not be negative"),
    ):
        with pytest.raises(Invalid, match=hint):
            save_rubric(session=session, source=source, user=assessor)
    with pytest.raises(Conflict, match="已存在"):
        save_rubric(session=session, source=bumped(version="2026-11-28"), user=assessor)
    assert session.scalar(select(func.count()).select_from(RubricVersion)) == count
    same, created = save_rubric(
        session=session, source=DEFAULT_PATH.read_text(encoding="utf-8"), user=assessor
    )
    assert not created and same.version == "2026-11-28"


def test_frozen_evaluation_stays_after_later_events(world: World, session: Session, assessor: User):
    policy = make_policy(session)
    c = new_assignment(session, policy, "dC")
    world.rec.periods(c, [DUE])
    ev, created = freeze(
        session=session, period="2026Q4", by="department", as_of=AS_OF, user=assessor
    )
    assert created and ev.rubric_version == "2026-11-28" and len(ev.digest) == 64
    # It cites the audit chain's head it was computed from; the freeze's own audit event
    # comes right after it.
    head = chain_head(session=session)
    frozen = session.scalars(select(AuditEvent).where(AuditEvent.seq == head.seq)).one()
    assert frozen.kind == "evaluation_frozen" and frozen.data["evaluation_id"] == ev.id
    assert (ev.chain_seq, ev.chain_hash) == (head.seq - 1, frozen.prev_hash) and ev.chain_seq > 0
    frozen_rows = [dict(r) for r in ev.rows]
    assert [r["department"]["code"] for r in frozen_rows] == ["dA", "dB", "dC"]
    again, created_again = freeze(
        session=session, period="2026Q4", by="department", as_of=AS_OF, user=assessor
    )
    assert again.id == ev.id and not created_again
    assert compare(session=session, evaluation_id=ev.id, as_of=AS_OF).matches
    # later: C reports and is approved after the evaluation was frozen
    late = AS_OF + 2 * DAY
    world.rec.submit(c, 0, late, "c-s1")
    world.rec.review(c, 0, late, "c-s1", 4)
    world.rec.close(c, 0, late, 4, False)
    session.expire_all()
    stored = get_evaluation(session=session, evaluation_id=ev.id)
    assert stored.rows == frozen_rows and stored.digest == ev.digest
    cmp = compare(session=session, evaluation_id=ev.id, as_of=late + timedelta(hours=1))
    assert not cmp.matches
    assert [(d.key, d.frozen_score, d.score, d.frozen_rank, d.rank) for d in cmp.differences] == [
        ("dB", 1.5, 1.5, 2, 3),  # same points, overtaken by C
        ("dC", -5.0, 6.0, 3, 2),
    ]
    # the same instant as the freeze still reproduces it: later events are cut off by as_of
    assert compare(session=session, evaluation_id=ev.id, as_of=AS_OF).matches


def test_compare_after_rubric_change_lists_every_row(world: World, assessor: User):
    s = world.session
    ev, _ = freeze(session=s, period="2026Q4", by="official", as_of=AS_OF, user=assessor)
    save_rubric(session=s, source=bumped(completion=11.0), user=assessor)
    cmp = compare(session=s, evaluation_id=ev.id, as_of=AS_OF)
    assert not cmp.matches and cmp.rubric_version == "2026-12-01"
    assert [(d.key, d.frozen_score, d.score) for d in cmp.differences] == [
        ("head-dA", 12.0, 13.0),
        ("head-dB", 1.5, 2.5),
    ]
    assert [e.id for e in list_evaluations(session=s, period="2026Q4")] == [ev.id]
    assert s.scalar(select(func.count()).select_from(Evaluation)) == 1
