"""The logical dump of the read model: tables in foreign-key order, values encoded by column type.

The dump is database-independent: it is read and written through tables reflected from the
live database (not the ORM models), so a backup taken at any Alembic revision loads into a
database migrated to that same revision, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    func,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

# Alembic's own bookkeeping travels in the manifest as the revision, not as rows.
SKIPPED = frozenset({"alembic_version"})
_BATCH = 1000


def reflect_tables(connection: Connection) -> list[Table]:
    """Return the database's tables in foreign-key order (parents first), without Alembic's."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED]


def encode(value: Any, type_: TypeEngine[Any]) -> Any:
    """Return a JSON-ready value for a column of this type."""
    if value is None or isinstance(type_, JSON):
        return value
    if isinstance(value, datetime):
        # SQLite gives back the stored UTC wall time without a zone.
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def decode(value: Any, type_: TypeEngine[Any]) -> Any:
    """Return the Python value to insert into a column of this type."""
    if value is None or isinstance(type_, JSON):
        return value
    if isinstance(type_, DateTime):
        return datetime.fromisoformat(value).astimezone(UTC)
    if isinstance(type_, Date):
        return date.fromisoformat(value)
    if isinstance(type_, Time):
        return time.fromisoformat(value)
    if isinstance(type_, LargeBinary):
        return base64.b64decode(value)
    if isinstance(type_, Boolean):
        return bool(value)
    if isinstance(type_, Numeric) and not isinstance(type_, Float):
        return Decimal(value)
    return value


def write_table(connection: Connection, table: Table, out: IO[bytes]) -> int:
    """Stream every row of `table` as one JSON object per line, in key order; return the count."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = connection.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
    columns = [(c.name, c.type) for c in table.columns]
    count = 0
    for row in result:
        record = {name: encode(row._mapping[name], type_) for name, type_ in columns}
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode())
        out.write(b"\n")
        count += 1
    return count


def load_table(connection: Connection, table: Table, lines: Iterable[bytes]) -> int:
    """Insert the dumped rows into `table` in batches, ids included; return the count."""
    types = {c.name: c.type for c in table.columns}
    batch: list[dict[str, Any]] = []
    count = 0
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        unknown = set(record) - set(types)
        if unknown:
            raise ValueError(f"{table.name} has no column {sorted(unknown)[0]}")
        batch.append({name: decode(value, types[name]) for name, value in record.items()})
        if len(batch) >= _BATCH:
            count += _insert(connection, table, batch)
    return count + _insert(connection, table, batch)


def _insert(connection: Connection, table: Table, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    connection.execute(table.insert(), batch)
    done = len(batch)
    batch.clear()
    return done


def row_counts(connection: Connection, tables: Iterable[Table]) -> Iterator[tuple[Table, int]]:
    """Yield each table with its number of rows."""
    for table in tables:
        yield table, connection.scalar(select(func.count()).select_from(table)) or 0


def reset_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """Move PostgreSQL's id sequences past the restored ids (SQLite needs nothing)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        connection.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:t, :c), "
                f'COALESCE((SELECT MAX("{keys[0].name}") FROM "{table.name}"), 1), '
                f'(SELECT MAX("{keys[0].name}") FROM "{table.name}") IS NOT NULL)'
            ),
            {"t": table.name, "c": keys[0].name},
        )
