"""The scheduler lease: one holder at a time, on SQLite (file lock) and PostgreSQL (advisory lock)."""

from duban.db import make_engine
from duban.leader import SchedulerLease


def test_one_holder_at_a_time_and_released_for_the_next(db_url):
    first_engine, second_engine = make_engine(db_url), make_engine(db_url)
    first, second = SchedulerLease(first_engine), SchedulerLease(second_engine)
    try:
        assert first.try_acquire() is True
        assert first.try_acquire() is True  # holding it already
        assert second.try_acquire() is False
        assert (first.held, second.held) == (True, False)
        first.release()
        assert first.held is False
        assert second.try_acquire() is True
    finally:
        first.release()
        second.release()
        first_engine.dispose()
        second_engine.dispose()
