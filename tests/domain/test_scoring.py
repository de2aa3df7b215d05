"""Rubric loading and pure scoring: lines, totals, ranking, digests, periods."""

from __future__ import annotations

import dataclasses
import gc
import random
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from duban.scoring import (
    PeriodOutcome,
    compile_scores,
    evaluation_digest,
    filter_period,
    freeze_evaluation,
    period_bounds,
    score_period,
)
from policies.rubric import DEFAULT_PATH, RubricError, load_rubric, parse_rubric

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # 2026-07-01 00:00 China time
AS_OF = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
_ids = iter(range(1, 1_000_000))


@pytest.fixture(scope="module")
def rubric():
    return load_rubric()


def outcome(**overrides) -> PeriodOutcome:
    """An on-time approved lead period rated 3, unless overridden."""
    n = next(_ids)
    fields: dict[str, Any] = {
        "assignment_id": n,
        "department_code": "fpb",
        "department_name": "省扶贫办",
        "official": "head_fpb",
        "task_number": 5,
        "role": "lead",
        "period_index": 0,
        "period_label": "2026Q2",
        "due_at": DUE,
        "original_due_at": DUE,
        "closed_at": DUE - timedelta(days=2),
        "approved": True,
        "rating": 3,
        "escalation_levels": (),
        "returns": 0,
        "extensions_granted": 0,
        "historic": False,
        "event_ids": (10 * n, 10 * n + 1),
    }
    fields.update(overrides)
    return PeriodOutcome(**fields)


def by_rule(lines) -> dict[str, float]:
    return {line.rule: round(line.points, 6) for line in lines}


# --- rubric file ---------------------------------------------------------------------------


def test_bundled_rubric_values(rubric):
    assert rubric.version == "2026-11-28"
    assert rubric.completion_points == 10.0
    assert (rubric.late_per_day, rubric.late_cap) == (0.5, 5.0)
    assert rubric.escalation_costs == (1.0, 2.0, 3.0)
    assert rubric.rating_points == (-2.0, -1.0, 0.0, 1.0, 2.0)
    assert (rubric.lead_weight, rubric.co_weight) == (1.0, 0.6)
    assert (rubric.extension_cost, rubric.return_cost) == (1.0, 0.5)
    assert rubric.score_historic is False


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('version = "2026-11-28"', 'version = "v2"'), "version must look like 2026-11-28"),
        (("per_day = 0.5", "per_day = -0.5"), "lateness.per_day must not be negative"),
        (("per_day = 0.5", 'per_day = "half"'), "lateness.per_day must be a number"),
        (("cap = 5.0", "cap = 5.0\nceiling = 9"), "[lateness] has unknown key ceiling"),
        (("level_3 = 3.0", ""), "[escalation] lacks level_3"),
        (('"5" = 2.0', '"6" = 2.0'), 'rating.points must map exactly "1".."5"'),
        (("scored = false", "scored = 0"), "historic.scored must be true or false"),
        (("[returned]", "[returnd]"), "unknown section returnd"),
        (("co = 0.6", "co = "), "is not valid TOML"),
    ],
)
def test_bad_rubric_raises_one_clear_line(tmp_path, edit, message):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace(*edit)
    path = tmp_path / "rubric.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_section_is_named():
    data = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    del data["returned"]
    with pytest.raises(RubricError, match=r"missing section \[returned\]"):
        parse_rubric(data)


def test_missing_rubric_file(tmp_path):
    with pytest.raises(RubricError, match="cannot read"):
        load_rubric(tmp_path / "nope.toml")


# --- one period ----------------------------------------------------------------------------


def test_on_time_approved_gets_completion_and_rating(rubric):
    lines = score_period(outcome(rating=5), rubric, as_of=AS_OF)
    assert by_rule(lines) == {"completion": 10.0, "rating": 2.0}
    assert lines[0].reason == "审核通过办结"
    assert lines[1].reason == "审核评价5星"


@pytest.mark.parametrize(
    ("late", "days", "deduction"),
    [
        (timedelta(hours=1), 1, -0.5),  # a started day counts as a day
        (timedelta(days=2, hours=3), 3, -1.5),
        (timedelta(days=10), 10, -5.0),  # exactly at the cap
        (timedelta(days=40), 40, -5.0),  # capped
    ],
)
def test_late_completion_deducts_per_day_with_cap(rubric, late, days, deduction):
    lines = score_period(outcome(closed_at=DUE + late), rubric, as_of=AS_OF)
    assert by_rule(lines) == {"completion": 10.0, "rating": 0.0, "lateness": deduction}
    late_line = next(line for line in lines if line.rule == "lateness")
    assert late_line.reason.startswith(f"逾期{days}天，每天扣0.5分")
    assert late_line.reason.endswith("已达上限") == (days * 0.5 > 5.0)


def test_unfinished_past_due_counts_days_up_to_as_of(rubric):
    o = outcome(closed_at=None, approved=False, rating=None)
    assert by_rule(score_period(o, rubric, as_of=DUE + timedelta(days=4))) == {"lateness": -2.0}
    assert score_period(o, rubric, as_of=DUE - timedelta(days=1)) == ()


@pytest.mark.parametrize(("levels", "total"), [((1,), -1.0), ((1, 2), -3.0), ((1, 2, 3), -6.0)])
def test_escalation_levels_deduct_cumulatively(rubric, levels, total):
    o = outcome(closed_at=None, approved=False, rating=None, escalation_levels=levels)
    lines = score_period(o, rubric, as_of=DUE + timedelta(days=1))
    esc = [line for line in lines if line.rule == "escalation"]
    assert [line.points for line in esc] == [-1.0, -2.0, -3.0][: len(levels)]
    assert sum(line.points for line in esc) == total
    assert [line.reason for line in esc] == [
        "督办升级至第1级（部门负责人）",
        "督办升级至第2级（督查室）",
        "督办升级至第3级（领导）",
    ][: len(levels)]


def test_extension_lateness_runs_from_granted_due_date_but_costs(rubric):
    granted = DUE + timedelta(days=30)
    o = outcome(due_at=granted, closed_at=DUE + timedelta(days=20), extensions_granted=1)
    assert by_rule(score_period(o, rubric, as_of=AS_OF)) == {
        "completion": 10.0,
        "rating": 0.0,
        "extension": -1.0,
    }
    late = outcome(due_at=granted, closed_at=granted + timedelta(days=2), extensions_granted=2)
    assert by_rule(score_period(late, rubric, as_of=AS_OF)) == {
        "completion": 10.0,
        "rating": 0.0,
        "lateness": -1.0,
        "extension": -2.0,
    }


def test_returned_submissions_cost_each(rubric):
    lines = score_period(outcome(returns=3), rubric, as_of=AS_OF)
    assert by_rule(lines)["return"] == -1.5
    assert lines[-1].reason == "报送被退回3次，每次扣0.5分"


def test_co_weight_scales_every_line(rubric):
    o = outcome(role="co", rating=5, closed_at=DUE + timedelta(days=2), escalation_levels=(1,))
    assert by_rule(score_period(o, rubric, as_of=AS_OF)) == {
        "completion": 6.0,
        "rating": 1.2,
        "lateness": -0.6,
        "escalation": -0.6,
    }
    assert all(
        line.reason.endswith("（配合×0.6）") for line in score_period(o, rubric, as_of=AS_OF)
    )


def test_historic_periods_are_not_scored_unless_the_rubric_says_so(rubric):
    o = outcome(historic=True, closed_at=None, approved=False, rating=None, escalation_levels=(1,))
    assert score_period(o, rubric, as_of=AS_OF) == ()
    scored = dataclasses.replace(rubric, score_historic=True)
    assert by_rule(score_period(o, scored, as_of=AS_OF))["escalation"] == -1.0


def test_out_of_range_rating_or_level_is_refused(rubric):
    with pytest.raises(ValueError, match="rating 6"):
        score_period(outcome(rating=6), rubric, as_of=AS_OF)
    with pytest.raises(ValueError, match="escalation level 4"):
        score_period(outcome(escalation_levels=(4,)), rubric, as_of=AS_OF)


# --- compiling -----------------------------------------------------------------------------


def dept(code: str, **overrides) -> PeriodOutcome:
    overrides.setdefault("official", f"head_{code}")
    return outcome(department_code=code, department_name=f"省{code}", **overrides)


def test_on_time_department_outscores_escalated_one(rubric):
    outcomes = [
        dept("good", rating=4),
        dept("bad", closed_at=None, approved=False, rating=None, escalation_levels=(1, 2)),
    ]
    rows = compile_scores(outcomes, rubric, as_of=DUE + timedelta(days=8))
    assert [(r.key, r.score, r.rank) for r in rows] == [("good", 11.0, 1), ("bad", -7.0, 2)]
    bad = rows[1]
    assert [(t.rule, t.points, t.line_count) for t in bad.breakdown] == [
        ("lateness", -4.0, 1),
        ("escalation", -3.0, 2),
    ]
    assert bad.to_json() == {
        "department": {"code": "bad", "name": "省bad"},
        "score": -7.0,
        "rank": 2,
        "breakdown": [
            {"rule": "lateness", "label": "逾期", "points": -4.0, "count": 1},
            {"rule": "escalation", "label": "督办升级", "points": -3.0, "count": 2},
        ],
    }


def test_ties_share_a_rank(rubric):
    outcomes = [dept("a", rating=5), dept("b", rating=5), dept("c"), dept("d", rating=1)]
    rows = compile_scores(outcomes, rubric, as_of=AS_OF)
    assert [(r.key, r.score, r.rank) for r in rows] == [
        ("a", 12.0, 1),
        ("b", 12.0, 1),
        ("c", 10.0, 3),
        ("d", 8.0, 4),
    ]


def test_per_official_aggregation(rubric):
    outcomes = [
        dept("a", official="wang", official_name="王局长", rating=5),
        dept("b", official="wang", official_name="王局长", returns=2),
        dept("c", official="li", rating=4),
        dept("d", official=None),  # no head on record: left out of the official ranking
    ]
    rows = compile_scores(outcomes, rubric, as_of=AS_OF, by="official")
    assert [(r.key, r.name, r.score, r.rank, r.periods) for r in rows] == [
        ("wang", "王局长", 21.0, 1, 2),
        ("li", "li", 11.0, 2, 1),
    ]
    assert rows[0].to_json()["official"] == {"username": "wang", "name": "王局长"}


def test_every_line_of_a_total_traces_to_its_events(rubric):
    outcomes = [
        dept("a", rating=5, returns=1),
        dept("a", closed_at=DUE + timedelta(days=3), escalation_levels=(1,)),
        dept(
            "a",
            extensions_granted=1,
            events_by_rule={"extension": (777,)},
            event_ids=(700, 701, 777),
        ),
    ]
    (row,) = compile_scores(outcomes, rubric, as_of=AS_OF)
    assert row.score == round(sum(line.points for line in row.lines), 2) == 28.0
    events_of = {o.assignment_id: set(o.event_ids) for o in outcomes}
    for line in row.lines:
        assert line.event_ids
        assert set(line.event_ids) <= events_of[line.assignment_id]
    ext = next(line for line in row.lines if line.rule == "extension")
    assert ext.event_ids == (777,)
    assert sum(t.line_count for t in row.breakdown) == len(row.lines) == 10


def test_rubric_change_recomputes_from_the_same_events(rubric):
    outcomes = [dept("a", returns=2), dept("b", escalation_levels=(1,))]
    before = compile_scores(outcomes, rubric, as_of=AS_OF)
    harsher = dataclasses.replace(rubric, version="2026-12-01", return_cost=2.0)
    after = compile_scores(outcomes, harsher, as_of=AS_OF)
    assert [(r.key, r.score, r.rank) for r in before] == [("a", 9.0, 1), ("b", 9.0, 1)]
    assert [(r.key, r.score, r.rank) for r in after] == [("b", 9.0, 1), ("a", 6.0, 2)]
    assert outcomes[0].returns == 2  # the recorded facts are untouched


def test_digest_stable_across_input_order_and_changes_with_rubric(rubric):
    rng = random.Random(7)
    outcomes = [
        dept(
            rng.choice("abcde"),
            role=rng.choice(("lead", "co")),
            rating=rng.randrange(1, 6),
            closed_at=DUE + timedelta(hours=rng.randrange(-100, 300)),
            returns=rng.randrange(3),
            escalation_levels=(1,) if rng.random() < 0.3 else (),
        )
        for _ in range(200)
    ]
    digest = evaluation_digest(compile_scores(outcomes, rubric, as_of=AS_OF), rubric)
    shuffled = outcomes[:]
    rng.shuffle(shuffled)
    assert evaluation_digest(compile_scores(shuffled, rubric, as_of=AS_OF), rubric) == digest
    assert len(digest) == 64
    changed = dataclasses.replace(rubric, late_per_day=0.6)
    assert evaluation_digest(compile_scores(outcomes, changed, as_of=AS_OF), changed) != digest
    # Even a value that moves no score changes the digest: the rubric is part of what was frozen.
    unused = dataclasses.replace(rubric, extension_cost=9.0)  # no outcome has an extension
    same_rows = compile_scores(outcomes, unused, as_of=AS_OF)
    assert [r.score for r in same_rows] == [
        r.score for r in compile_scores(outcomes, rubric, as_of=AS_OF)
    ]
    assert evaluation_digest(same_rows, unused) != digest


def test_freeze_evaluation_matches_a_recomputation(rubric):
    outcomes = [dept("a"), dept("b", rating=1)]
    frozen = freeze_evaluation(outcomes, rubric, as_of=AS_OF, period="2026")
    assert frozen.rubric_version == "2026-11-28"
    assert [r.key for r in frozen.rows] == ["a", "b"]
    again = compile_scores(list(reversed(outcomes)), rubric, as_of=AS_OF, period="2026")
    assert evaluation_digest(again, rubric) == frozen.digest


# --- periods -------------------------------------------------------------------------------


def test_period_bounds_are_china_time():
    assert period_bounds("2026Q4") == (
        datetime(2026, 9, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
    assert period_bounds("2026") == (
        datetime(2025, 12, 31, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="2026Q4"):
        period_bounds("2026Q5")


def test_filter_period_uses_the_original_due_date(rubric):
    q3_due = datetime(2026, 9, 30, 15, tzinfo=UTC)  # 23:00 on 30 Sep, China time
    extended = dept("a", original_due_at=q3_due, due_at=q3_due + timedelta(days=20))
    q4 = dept("b", original_due_at=q3_due + timedelta(hours=1), due_at=q3_due + timedelta(hours=1))
    assert filter_period([extended, q4], "2026Q3") == [extended]
    assert filter_period([extended, q4], "2026Q4") == [q4]
    assert filter_period([extended, q4], "2026") == [extended, q4]
    assert filter_period([extended, q4], "2027") == []
    rows = compile_scores([extended, q4], rubric, as_of=AS_OF, period="2026Q4")
    assert [r.key for r in rows] == ["b"]


def test_scoring_leaves_the_garbage_collector_alone(rubric):
    """The collector is process-wide: scoring in one thread must not switch it off for all."""
    seen: list[bool] = []

    def outcomes():
        for n in range(3):
            seen.append(gc.isenabled())
            yield outcome(department_code=f"d{n}")

    assert gc.isenabled()
    rows = compile_scores(outcomes(), rubric, as_of=AS_OF)
    assert len(rows) == 3 and seen == [True, True, True]
