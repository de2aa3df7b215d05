"""The schema migrates on both databases and stores tz-aware UTC datetimes."""

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from duban.db import Base
from duban.models import Department, User


def test_migrated_schema_round_trips_utc(session):
    dept = Department(code="jl-test", name="省测试厅")
    session.add(dept)
    session.flush()
    shanghai = timezone(timedelta(hours=8))
    user = User(
        username="u1",
        password_hash="x",
        role="staff",
        department_id=dept.id,
        created_at=datetime(2026, 1, 1, 8, 0, tzinfo=shanghai),
    )
    session.add(user)
    session.flush()
    session.expire_all()
    got = session.scalars(select(User).where(User.username == "u1")).one()
    assert got.created_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert got.created_at.tzinfo is not None
    assert got.department is not None and got.department.name == "省测试厅"


def test_migrations_build_exactly_the_models(engine):
    # A model changed without its migration (or the reverse) shows here, on both databases.
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
