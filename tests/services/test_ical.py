"""The iCalendar feed: tokens, scope and the due-date events apps read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from duban.errors import NotFound
from duban.services.ical import build_calendar, ensure_ical_token, user_for_token
from tests.workspace import make_assignment, make_department, make_policy, make_user

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def test_feed_lists_own_due_dates_as_all_day_events(session):
    policy = make_policy(session)
    own, other = (
        make_department(session, "fpb", "省扶贫办"),
        make_department(session, "czt", "省财政厅"),
    )
    # 20:00 UTC is already the next day in Asia/Shanghai.
    due = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)
    mine = make_assignment(session, policy=policy, department=own, due_at=due, periods=2)
    make_assignment(session, policy=policy, department=other, due_at=due, periods=3)
    staff = make_user(session, "staff", own)
    feed = Calendar.from_ical(
        build_calendar(session=session, user=staff, base_url="https://duban.example", now=NOW)
    )
    events = feed.walk("VEVENT")
    assert str(feed["x-wr-calname"]) == "督办 · 省扶贫办"
    assert [str(e["uid"]) for e in events] == [
        f"assignment-{mine.id}-period-0@duban.example",
        f"assignment-{mine.id}-period-1@duban.example",
    ]
    assert events[0].decoded("dtstart") == date(2026, 7, 1)
    assert "保持主要帮扶政策总体稳定" in str(events[0]["summary"])
    assert str(events[0]["url"]) == f"https://duban.example/assignments/{mine.id}"
    supervisor = make_user(session, "supervisor")
    everything = Calendar.from_ical(
        build_calendar(session=session, user=supervisor, base_url="http://x", now=NOW)
    )
    assert len(everything.walk("VEVENT")) == 5


def test_token_resolves_rotates_and_rejects(session):
    user = make_user(session, "staff", make_department(session))
    token = ensure_ical_token(session=session, user=user)
    assert ensure_ical_token(session=session, user=user) == token
    assert len(token) >= 32
    assert user_for_token(session=session, token=token).id == user.id
    rotated = ensure_ical_token(session=session, user=user, rotate=True)
    assert rotated != token
    for bad in (token, "", "x" * 500):
        with pytest.raises(NotFound):
            user_for_token(session=session, token=bad)
    user.is_active = False
    with pytest.raises(NotFound):
        user_for_token(session=session, token=rotated)
