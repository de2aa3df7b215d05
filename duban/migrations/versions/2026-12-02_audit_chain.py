"""audit_chain

Revision ID: 8a2c4e6f1b35
Revises: 4d8b2e6f0a13
Create Date: 2026-12-02 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a2c4e6f1b35"
down_revision: str | None = "4d8b2e6f0a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
_FORBID = "audit_event is insert-only"


def _chain_existing(bind: sa.Connection) -> tuple[int, str]:
    """Chain the events already stored, in id order (their order of writing)."""
    from duban.models.audit import event_hash

    events = sa.table(
        "audit_event",
        *(sa.column(c) for c in ("id", "key", "kind", "actor_id", "actor_label")),
        *(sa.column(c) for c in ("policy_id", "assignment_id", "seq", "prev_hash", "hash")),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("data", sa.JSON()),
    )
    import duban.db

    utc = duban.db.UTCDateTime()
    prev, seq = GENESIS, 0
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        seq += 1
        at = utc.process_result_value(row["at"], bind.dialect)
        assert at is not None
        digest = event_hash(
            prev,
            seq=seq,
            key=row["key"],
            at=at,
            kind=row["kind"],
            actor_id=row["actor_id"],
            actor_label=row["actor_label"],
            policy_id=row["policy_id"],
            assignment_id=row["assignment_id"],
            data=row["data"],
        )
        bind.execute(
            events.update()
            .where(events.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest
    return seq, prev


def upgrade() -> None:
    """Chain every audit event by hash and refuse UPDATE and DELETE on the table."""
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    seq, head = _chain_existing(bind)
    bind.execute(
        sa.text("INSERT INTO audit_chain (id, seq, head_hash) VALUES (1, :seq, :head)"),
        {"seq": seq, "head": head},
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_seq"), ["seq"])
    _forbid_changes(bind)
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chain_seq", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("chain_hash", sa.String(length=64), server_default="", nullable=False)
        )


def _forbid_changes(bind: sa.Connection) -> None:
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_event_insert_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_FORBID}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_insert_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_insert_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_insert_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{_FORBID}'); END"
            )


def downgrade() -> None:
    """Drop the chain (the events stay)."""
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_seq")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER audit_event_insert_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_insert_only()")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute("DROP TRIGGER audit_event_no_delete")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_event_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("audit_chain")
