"""Test databases: migrated SQLite files and fresh PostgreSQL databases cloned from a template."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from duban.db import make_engine
from duban.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "DUBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def _pg_admin() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


class PgTemplate:
    """A migrated PostgreSQL database that fresh test databases are cloned from."""

    def __init__(self) -> None:
        self.name = f"duban_migrated_{uuid.uuid4().hex[:8]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        engine = make_engine(_pg_url(self.name))
        upgrade(engine)
        engine.dispose()

    def clone(self) -> str:
        """Create a new database from the template and return its URL."""
        name = f"duban_t_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"'))
        admin.dispose()
        return _pg_url(name)

    def drop(self, url: str | None = None) -> None:
        """Drop a clone (or the template itself)."""
        name = url.rpartition("/")[2] if url else self.name
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_url(folder: Path) -> str:
    """Return the URL of a new migrated SQLite file in `folder`."""
    url = f"sqlite:///{folder / f'duban-{uuid.uuid4().hex[:8]}.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@contextmanager
def fresh_database(backend: str, folder: Path, template: PgTemplate | None) -> Iterator[str]:
    """Yield the URL of a fresh migrated database of `backend`, removed afterwards."""
    if backend == "sqlite":
        yield sqlite_url(folder)
        return
    assert template is not None
    url = template.clone()
    try:
        yield url
    finally:
        template.drop(url)
