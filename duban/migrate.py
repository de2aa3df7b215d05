"""Bring a database to the newest schema with Alembic (used by the CLI, dev stack and tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"
SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """Return the Alembic config, independent of the current directory."""
    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the engine's database to `revision` in one transaction."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def migrate_connection(connection: Connection, revision: str) -> None:
    """Move the connection's database to `revision`, up or down, inside its open transaction."""
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    current = MigrationContext.configure(connection).get_current_revision()
    if current == revision:
        return
    script = ScriptDirectory.from_config(cfg)
    below = {r.revision for r in script.iterate_revisions(current, "base")} if current else set()
    if revision in below:
        command.downgrade(cfg, revision)
    else:
        command.upgrade(cfg, revision)


def known_revision(revision: str) -> bool:
    """Return whether this code has the Alembic revision (a newer backup's may be unknown)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
