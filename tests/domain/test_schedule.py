"""Pure calendar rules: ISO 8601 offsets and period planning."""

from datetime import UTC, date, datetime, timedelta

import pytest

from duban.schedule import (
    cadence_ends,
    end_of_day,
    parse_duration,
    parse_offsets,
    plan_periods,
    tracking_end,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1D", timedelta(days=1)),
        ("P2W", timedelta(weeks=2)),
        ("PT12H", timedelta(hours=12)),
        ("PT30S", timedelta(seconds=30)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("pt1.5s", timedelta(seconds=1.5)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1D", "P1Y", "P1M", "P1DT", "PT-1S", "P1D2H"])
def test_parse_duration_refuses_what_it_cannot_mean(text):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(text)


def test_offsets_default_and_list():
    assert parse_offsets(None) == [timedelta(days=1), timedelta(days=7), timedelta(days=14)]
    assert parse_offsets(" ") == parse_offsets("P1D,P7D,P14D")
    assert parse_offsets("PT5S, PT10S") == [timedelta(seconds=5), timedelta(seconds=10)]


def test_end_of_day_is_beijing_midnight_in_utc():
    assert end_of_day(date(2026, 12, 31)) == datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)


def test_tracking_end_is_horizon_or_one_year_whichever_later():
    start = date(2026, 11, 28)
    assert tracking_end(start, None) == date(2027, 11, 28)
    assert tracking_end(start, date(2025, 12, 31)) == date(2027, 11, 28)
    assert tracking_end(start, date(2030, 12, 31)) == date(2030, 12, 31)
    assert tracking_end(date(2028, 2, 29), None) == date(2029, 2, 28)


def test_quarterly_ends_cover_the_window():
    ends = cadence_ends(date(2026, 11, 28), date(2027, 11, 28))
    assert ends == [
        (date(2026, 12, 31), "2026年第4季度"),
        (date(2027, 3, 31), "2027年第1季度"),
        (date(2027, 6, 30), "2027年第2季度"),
        (date(2027, 9, 30), "2027年第3季度"),
        (date(2027, 12, 31), "2027年第4季度"),
    ]


def test_other_cadences_and_a_start_on_a_period_end():
    assert [d for d, _ in cadence_ends(date(2026, 3, 31), date(2026, 6, 1), "monthly")] == [
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
    ]
    assert cadence_ends(date(2026, 1, 5), date(2027, 1, 5), "half-yearly")[0] == (
        date(2026, 6, 30),
        "2026年上半年",
    )
    with pytest.raises(ValueError, match="报送周期"):
        cadence_ends(date(2026, 1, 5), date(2027, 1, 5), "weekly")


def test_plan_periods_merges_deadlines_and_keeps_past_ones_as_history():
    periods = plan_periods(
        start=date(2026, 11, 28),
        deadlines=[("2022年底前", date(2022, 12, 31)), ("2027年6月底前", date(2027, 6, 30))],
    )
    assert [(p.index, p.label, p.source, p.historic) for p in periods] == [
        (0, "2022年底前", "deadline", True),
        (1, "2026年第4季度", "cadence", False),
        (2, "2027年第1季度", "cadence", False),
        (3, "2027年6月底前", "deadline", False),
        (4, "2027年第3季度", "cadence", False),
        (5, "2027年第4季度", "cadence", False),
    ]
    assert periods[3].due_at == end_of_day(date(2027, 6, 30))
    assert [p.due_at for p in periods] == sorted(p.due_at for p in periods)


def test_plan_periods_follows_a_long_horizon():
    periods = plan_periods(start=date(2026, 11, 28), horizon=date(2030, 12, 31), cadence="yearly")
    assert [p.label for p in periods] == [
        "2026年度",
        "2027年度",
        "2028年度",
        "2029年度",
        "2030年度",
    ]


def test_one_off_reports_at_the_deadlines_ahead_or_once_at_the_end():
    from datetime import date

    from duban.schedule import plan_periods

    start = date(2026, 12, 2)
    ahead = plan_periods(
        start=start, deadlines=[("2027年6月底前", date(2027, 6, 30))], cadence="one-off"
    )
    assert [(p.label, p.historic) for p in ahead] == [("2027年6月底前", False)]
    past = plan_periods(
        start=start, deadlines=[("2019年底前", date(2019, 12, 31))], cadence="one-off"
    )
    assert [p.historic for p in past] == [True, False] and past[-1].label == "一次性报送"
