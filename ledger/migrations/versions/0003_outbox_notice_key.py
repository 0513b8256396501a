"""outbox: a notice is unique by (task, recipient, kind, stage)

The text `dedupe_key` repeated those four columns in every row and had a unique index of its
own beside the (task, recipient, family) index: two large indexes paid for each queued notice.
Now one unique index on the columns does both jobs, and `dedupe_key` is kept ('' otherwise)
only for rows without a task or a recipient (lists, digests, group messages).

Existing rows keep working: rows about a task and a person drop their key, and the few that
the new key could not tell apart (messages recorded as sent, events raised in the same
instant) get their id appended to the stage first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NON_EMPTY = sa.text("dedupe_key <> ''")
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_unique_key() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a table constraint: batch mode copies the table without it
        with op.batch_alter_table("outbox", naming_convention=NAMING, recreate="always") as batch:
            batch.drop_constraint("uq_outbox_dedupe_key", type_="unique")
    else:
        op.drop_constraint("outbox_dedupe_key_key", "outbox", type_="unique")


def upgrade() -> None:
    op.execute(
        """
        UPDATE outbox SET stage = stage || '#' || CAST(id AS VARCHAR(20))
        WHERE task_id IS NOT NULL AND recipient_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM outbox AS other
            WHERE other.task_id = outbox.task_id AND other.recipient_id = outbox.recipient_id
              AND other.kind = outbox.kind AND other.stage = outbox.stage
              AND other.id <> outbox.id
        )
        """
    )
    op.drop_index("ix_outbox_task_recipient", table_name="outbox")
    _drop_unique_key()
    op.execute(
        "UPDATE outbox SET dedupe_key = '' WHERE task_id IS NOT NULL AND recipient_id IS NOT NULL"
    )
    op.create_index(
        "ux_outbox_notice", "outbox", ["task_id", "recipient_id", "kind", "stage"], unique=True
    )
    op.create_index(
        "ux_outbox_dedupe_key",
        "outbox",
        ["dedupe_key"],
        unique=True,
        sqlite_where=NON_EMPTY,
        postgresql_where=NON_EMPTY,
    )


def downgrade() -> None:
    op.drop_index("ux_outbox_dedupe_key", table_name="outbox")
    op.drop_index("ux_outbox_notice", table_name="outbox")
    op.execute(
        "UPDATE outbox SET dedupe_key = kind || ':' || CAST(task_id AS VARCHAR(20)) || ':' "
        "|| CAST(recipient_id AS VARCHAR(20)) || ':' || stage WHERE dedupe_key = ''"
    )
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("outbox", recreate="always") as batch:
            batch.create_unique_constraint("uq_outbox_dedupe_key", ["dedupe_key"])
    else:
        op.create_unique_constraint("outbox_dedupe_key_key", "outbox", ["dedupe_key"])
    op.create_index("ix_outbox_task_recipient", "outbox", ["task_id", "recipient_id", "family"])
