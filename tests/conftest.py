"""Shared fixtures: databases on SQLite and PostgreSQL, settings, sessions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from duban.db import make_engine
from duban.settings import Settings
from tests.db import BACKENDS, PgTemplate, fresh_database
from tests.s3 import MotoServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every PostgreSQL-parametrized test with `postgres`."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and "postgresql" in callspec.id.split("-"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[PgTemplate]:
    """A migrated PostgreSQL template database for the whole run."""
    template = PgTemplate()
    yield template
    template.drop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh migrated database for this test (safe across threads and processes)."""
    template = request.getfixturevalue("pg_template") if backend == "postgresql" else None
    with fresh_database(backend, tmp_path, template) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the fresh database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back (SAVEPOINT per commit)."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings pointing at a temporary data dir and the test database."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url, secret_key="test-secret")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """A real S3-compatible server (moto's standalone server process) for the whole run."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_down() -> tuple[MotoServer, str]:
    """An S3 server that held a bucket and was then stopped: an object store that is down."""
    server = MotoServer()
    bucket = server.bucket()
    server.stop()
    return server, bucket
