"""The sign-in throttle counts failures per folded username and address within the window."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from duban.models import SignInFailure
from duban.services.sign_in import (
    MAX_FAILURES,
    WINDOW,
    forget_failures,
    record_failure,
    retry_after,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
IP = "10.1.2.3"


def _fail(session, times, username="Zhang", ip=IP):
    for at in times:
        record_failure(session=session, username=username, ip=ip, now=at)
    session.flush()


def test_the_last_allowed_failure_still_lets_one_try(session):
    _fail(session, [T0 + timedelta(seconds=n) for n in range(MAX_FAILURES - 1)])
    assert retry_after(session=session, username="zhang", ip=IP, now=T0 + timedelta(minutes=1)) == 0


def test_too_many_failures_wait_until_the_oldest_leaves_the_window(session):
    times = [T0 + timedelta(minutes=n) for n in range(MAX_FAILURES)]
    _fail(session, times)
    now = times[-1] + timedelta(seconds=30)
    # The username is folded: case and surrounding blanks do not make a new key.
    wait = retry_after(session=session, username="  ZHANG ", ip=IP, now=now)
    assert wait == (times[0] + WINDOW - now).total_seconds() > 0
    later = times[0] + WINDOW + timedelta(seconds=1)
    assert retry_after(session=session, username="zhang", ip=IP, now=later) == 0


def test_the_throttle_is_per_username_and_address(session):
    _fail(session, [T0] * MAX_FAILURES)
    now = T0 + timedelta(seconds=1)
    assert retry_after(session=session, username="zhang", ip=IP, now=now) > 0
    assert retry_after(session=session, username="li", ip=IP, now=now) == 0
    assert retry_after(session=session, username="zhang", ip="10.9.9.9", now=now) == 0


def test_a_good_sign_in_forgets_the_failures(session):
    _fail(session, [T0] * MAX_FAILURES)
    _fail(session, [T0], username="li")
    forget_failures(session=session, username="ZHANG", ip=IP)
    session.flush()
    assert retry_after(session=session, username="zhang", ip=IP, now=T0) == 0
    assert session.scalar(select(func.count()).select_from(SignInFailure)) == 1


def test_old_failures_are_dropped_and_long_names_fit(session):
    _fail(session, [T0], username="li")
    long_name = "x" * 500
    _fail(session, [T0 + WINDOW + timedelta(seconds=1)] * MAX_FAILURES, username=long_name)
    rows = session.scalars(select(SignInFailure.username)).all()
    assert rows == ["x" * 64] * MAX_FAILURES  # li's failure left the window and the table
    now = T0 + WINDOW + timedelta(seconds=2)
    assert retry_after(session=session, username=long_name, ip=IP, now=now) > 0
