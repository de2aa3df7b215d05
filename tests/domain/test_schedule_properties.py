"""Properties of the schedule (hypothesis): period planning from cadence and deadlines, the
ISO 8601 offsets, and the order in which reminders and ladder rungs ring. Invariants over any
start, window, deadlines and offsets, not examples."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from duban.domain import AssignmentState
from duban.rules import WAITING_STATES
from duban.schedule import (
    CADENCE_MONTHS,
    LOCAL_TZ,
    ONE_OFF,
    cadence_ends,
    end_of_day,
    parse_duration,
    parse_offsets,
    plan_periods,
    tracking_end,
)
from workflows.assignment_messages import AssignmentCarry
from workflows.assignment_rules import next_alarm

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
CADENCES = st.sampled_from(sorted(CADENCE_MONTHS))
DEADLINES = st.lists(
    st.tuples(st.text(min_size=1, max_size=12), DAYS), max_size=8, unique_by=lambda d: d[1]
)
OFFSETS = st.lists(
    st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=60)), max_size=5
)
# hypothesis takes naive bounds and adds the zone itself
MOMENTS = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001
    max_value=datetime(2089, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def _months(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


@given(start=DAYS, span=st.integers(0, 2000), cadence=CADENCES)
def test_cadence_ends_are_calendar_boundaries_that_cover_the_window(start, span, cadence):
    until = start + timedelta(days=span)
    months = CADENCE_MONTHS[cadence]
    ends = cadence_ends(start, until, cadence)
    assert ends and ends[-1][0] >= until  # the window is covered...
    assert all(end < until for end, _ in ends[:-1])  # ...by the first end on or after it
    assert all(end > start for end, _ in ends)
    for end, _ in ends:  # a month end of a month the cadence ends in (3-31, 6-30, ...)
        assert end.day == calendar.monthrange(end.year, end.month)[1]
        assert end.month % months == 0
    for (a, _), (b, _) in pairwise(ends):
        assert _months(a, b) == months  # none skipped, none doubled
    assert len({label for _, label in ends}) == len(ends)  # each period named once


@given(start=DAYS, horizon=st.none() | DAYS)
def test_the_tracking_window_is_a_year_at_least_and_reaches_the_horizon(start, horizon):
    end = tracking_end(start, horizon)
    assert end >= start + timedelta(days=364)
    assert horizon is None or end >= horizon


@given(
    start=DAYS,
    horizon=st.none() | DAYS,
    deadlines=DEADLINES,
    cadence=st.sampled_from([*sorted(CADENCE_MONTHS), ONE_OFF]),
)
@settings(max_examples=300)
def test_planned_periods(start, horizon, deadlines, cadence):
    periods = plan_periods(start=start, horizon=horizon, deadlines=deadlines, cadence=cadence)
    assert [p.index for p in periods] == list(range(len(periods)))
    assert all(a.due_at < b.due_at for a, b in pairwise(periods))  # strictly later, one a day
    days = [p.due_at.astimezone(LOCAL_TZ).date() for p in periods]
    for p, day in zip(periods, days, strict=True):
        assert p.due_at == end_of_day(day)  # 23:59:59 Beijing time, kept in UTC
        assert p.due_at.astimezone(LOCAL_TZ).time() == time(23, 59, 59)
        assert p.historic == (day < start)  # only a past deadline is historic
        assert p.source in {"cadence", "deadline"}
        assert p.historic is False or p.source == "deadline"
    by_day = dict(zip(days, periods, strict=True))
    for text, day in deadlines:  # every deadline of the text is a period, under its own words
        assert by_day[day].source == "deadline" and by_day[day].label == text
    ahead = [day for _, day in deadlines if day >= start]
    if cadence == ONE_OFF and ahead:
        assert all(p.source == "deadline" for p in periods)
    else:  # the window is covered up to its end
        assert max(days) >= tracking_end(start, horizon)
    assert any(not p.historic for p in periods)  # something is always owed ahead


@given(
    weeks=st.integers(0, 50),
    days=st.integers(0, 400),
    hours=st.integers(0, 100),
    minutes=st.integers(0, 100),
    seconds=st.integers(0, 100),
)
def test_iso_durations_read_back_what_they_say(weeks, days, hours, minutes, seconds):
    text = f"P{weeks}W{days}DT{hours}H{minutes}M{seconds}S"
    expected = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert parse_duration(text) == expected
    assert parse_duration(text.lower()) == expected
    assert parse_offsets(f"{text}, P{days}D") == [expected, timedelta(days=days)]


@given(st.text(max_size=40))
def test_any_text_is_a_duration_or_a_clear_value_error(text):
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert "ISO 8601" in str(exc)
    else:
        assert value >= timedelta(0)


def _carry(state, due_at, due_set_at, sent, level):
    return AssignmentCarry(
        state=state.value,
        period_begun=True,
        due_at=due_at,
        due_set_at=due_set_at,
        reminders_sent=sent,
        escalation_level=level,
    )


@given(
    due_at=MOMENTS,
    set_before=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90)),
    reminders=OFFSETS,
    ladder=OFFSETS,
    state=st.sampled_from(list(AssignmentState)),
    data=st.data(),
)
@settings(max_examples=300)
def test_the_next_alarm_is_the_earliest_one_still_owed(
    due_at, set_before, reminders, ladder, state, data
):
    sent = data.draw(st.lists(st.integers(0, max(len(reminders) - 1, 0)), unique=True))
    level = data.draw(st.integers(0, len(ladder) + 1))
    due_set_at = None if set_before is None else due_at - set_before
    alarm = next_alarm(_carry(state, due_at, due_set_at, sent, level), reminders, ladder)
    if state not in WAITING_STATES:
        assert alarm is None  # nothing rings once the report is in or the work is done
        return
    owed = [
        due_at - off
        for i, off in enumerate(reminders)
        if i not in sent and (due_set_at is None or due_at - off >= due_set_at)
    ]
    if level < len(ladder):
        owed.append(due_at + ladder[level])
    if not owed:
        assert alarm is None
        return
    assert alarm is not None and alarm.at == min(owed)
    if alarm.kind == "reminder":
        assert alarm.n not in sent and alarm.at <= due_at
        assert due_set_at is None or alarm.at >= due_set_at  # never a reminder in the past
    else:
        assert alarm.kind == "escalation" and alarm.n == level + 1 and alarm.at > due_at


@given(due_at=MOMENTS, reminders=OFFSETS, ladder=OFFSETS)
def test_ringing_every_alarm_in_turn_sends_each_reminder_once_then_climbs_the_ladder(
    due_at, reminders, ladder
):
    s = _carry(AssignmentState.ACKNOWLEDGED, due_at, None, [], 0)
    rung: list[int] = []
    times: list[datetime] = []
    for _ in range(len(reminders) + len(ladder) + 1):
        alarm = next_alarm(s, reminders, ladder)
        if alarm is None:
            break
        times.append(alarm.at)
        if alarm.kind == "reminder":
            s.reminders_sent.append(alarm.n)
        else:
            rung.append(alarm.n)
            s.escalation_level = alarm.n
    assert next_alarm(s, reminders, ladder) is None  # it ends
    assert sorted(s.reminders_sent) == list(range(len(reminders)))  # each reminder once
    assert rung == list(range(1, len(ladder) + 1))  # rungs one by one, none skipped
    assume(len(times) > 1)
    # Rings never go back in time, except a later rung with a shorter offset than the one before.
    reminder_times = times[: len(reminders)]
    assert reminder_times == sorted(reminder_times)
    assert all(t <= due_at for t in reminder_times) and all(
        t > due_at for t in times[len(reminders) :]
    )
