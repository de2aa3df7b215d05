"""The scheduler lease: however many workers run, periodic jobs run in exactly one of them."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# pg_advisory_lock key: "duban-scheduler" folded into a signed 63-bit integer.
LOCK_KEY = int.from_bytes(b"duban-sc", "big") >> 1


class SchedulerLease:
    """A try-once, hold-until-released lock: a PostgreSQL advisory lock, or a file lock by SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Return whether this process holds the lease."""
        return self._conn is not None or self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; return whether this process holds it now."""
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
            )
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        fd = os.open(self.lock_path(), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def lock_path(self) -> Path:
        """Return the lock file beside the SQLite database (every worker shares that file)."""
        database = self.engine.url.database or ""
        folder = (
            Path(database).resolve().parent if database and database != ":memory:" else Path(".")
        )
        return folder / "duban-scheduler.lock"

    def release(self) -> None:
        """Give the lease back (closing the connection or file frees it too, even on a crash)."""
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._conn.close()
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
