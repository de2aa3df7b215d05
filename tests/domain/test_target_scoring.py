"""Target attainment in the rubric: an optional weight, 0 by default (scores and fingerprint unchanged)."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from duban.scoring import score_period
from policies.rubric import DEFAULT_PATH, RubricError, load_rubric, parse_rubric
from tests.domain.test_scoring import AS_OF, outcome


def _data() -> dict:  # type: ignore[type-arg]
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_the_bundled_rubric_weighs_targets_zero_and_keeps_its_fingerprint() -> None:
    rubric = load_rubric()
    assert rubric.target_weight == 0.0
    without = _data()
    del without["targets"]
    assert parse_rubric(without).fingerprint() == rubric.fingerprint()


def test_weight_zero_changes_no_score() -> None:
    rubric = load_rubric()
    o = outcome(targets_met=1, targets_reported=2)
    plain = outcome()
    assert [line.rule for line in score_period(o, rubric, as_of=AS_OF)] == [
        line.rule for line in score_period(plain, rubric, as_of=AS_OF)
    ]


def test_a_weight_scores_the_share_of_targets_met_in_an_approved_period() -> None:
    data = _data()
    data["targets"] = {"weight": 4.0}
    rubric = parse_rubric(data)
    assert rubric.fingerprint() != load_rubric().fingerprint()
    lines = score_period(outcome(targets_met=1, targets_reported=2), rubric, as_of=AS_OF)
    target = [line for line in lines if line.rule == "target"]
    assert len(target) == 1 and target[0].points == pytest.approx(2.0)
    assert "指标达标1/2项" in target[0].reason
    co = score_period(outcome(role="co", targets_met=2, targets_reported=2), rubric, as_of=AS_OF)
    assert [line.points for line in co if line.rule == "target"] == [pytest.approx(4.0 * 0.6)]
    unapproved = outcome(approved=False, closed_at=None, targets_met=2, targets_reported=2)
    assert not [x for x in score_period(unapproved, rubric, as_of=AS_OF) if x.rule == "target"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"weight": -1}, "must not be negative"),
        ({"weight": "x"}, "must be a number"),
        ({}, "lacks weight"),
        ({"weight": 1, "cap": 2}, "unknown key cap"),
    ],
)
def test_a_bad_targets_section_is_refused(section: dict, message: str) -> None:  # type: ignore[type-arg]
    data = _data()
    data["targets"] = section
    with pytest.raises(RubricError, match=message):
        parse_rubric(data)


def test_outcomes_default_to_no_targets() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(outcome())}
    assert fields["targets_met"] == 0 and fields["targets_reported"] == 0
