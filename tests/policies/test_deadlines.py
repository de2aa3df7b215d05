"""Deadline phrases as ISO dates."""

from __future__ import annotations

from datetime import date

import pytest

from policies.deadlines import find_deadlines, transition_years


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022年底前完成", date(2022, 12, 31)),
        ("到2025年，基本建成", date(2025, 12, 31)),
        ("2020年6月底前", date(2020, 6, 30)),
        ("2024年2月底", date(2024, 2, 29)),
        ("6月底前报送", date(2021, 6, 30)),
        ("年内完成", date(2021, 12, 31)),
        ("今年底前完成", date(2021, 12, 31)),
        ("于2018年12月31日前报送", date(2018, 12, 31)),
        ("2025年前", date(2025, 12, 31)),
        ("完成时限：2024年6月", date(2024, 6, 30)),
        ("完成时间:2024年6月15日", date(2024, 6, 15)),
        ("时限要求：2023年", date(2023, 12, 31)),
        ("完成时限：2023年12月底前", date(2023, 12, 31)),
    ],
)
def test_phrases(text, expected):
    assert [d.date for d in find_deadlines(text, year=2021)] == [expected]


def test_transition_period_counts_from_the_issue_year():
    text = "从脱贫之日起设立5年过渡期。过渡期内保持稳定。"
    years = transition_years(text)
    assert years == 5
    assert find_deadlines("过渡期内保持稳定", year=2021, transition=years)[0].date == date(
        2025, 12, 31
    )
    assert find_deadlines("过渡期内保持稳定", year=2023, transition=years)[0].date == date(
        2027, 12, 31
    )
    assert transition_years("设立三年过渡期") == 3


def test_no_deadline_in_start_dates_or_without_year():
    assert find_deadlines("从2019年1月1日起实施", year=2021) == []
    assert find_deadlines("6月底前报送", year=None) == []
    assert find_deadlines("3年内完成", year=2021) == []


def test_a_labelled_limit_keeps_the_fuller_phrase():
    (found,) = find_deadlines("完成时限：2023年12月底前", year=2021)
    assert found.text == "2023年12月底前"
    (bare,) = find_deadlines("完成时限：2024年6月", year=2021)
    assert bare.text == "2024年6月"
