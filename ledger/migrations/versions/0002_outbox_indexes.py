"""outbox indexes that cost less per queued notice

The sweep can queue millions of notices at once and every index is paid per row. The
recipient and sweep indexes become one (sweep, recipient) index, the only shape their
queries use (a sweep's notices for one person, for a digest; a sweep's notices listed by
person); the sent-message index holds only rows that were sent, the only ones it finds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT_ONLY = sa.text("sent_message_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_recipient_id", table_name="outbox")
    op.drop_index("ix_outbox_sweep_id", table_name="outbox")
    op.drop_index("ix_outbox_sent", table_name="outbox")
    op.create_index("ix_outbox_sweep_recipient", "outbox", ["sweep_id", "recipient_id"])
    op.create_index(
        "ix_outbox_sent",
        "outbox",
        ["chat_id", "sent_message_id"],
        sqlite_where=SENT_ONLY,
        postgresql_where=SENT_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_sent", table_name="outbox")
    op.drop_index("ix_outbox_sweep_recipient", table_name="outbox")
    op.create_index("ix_outbox_sent", "outbox", ["chat_id", "sent_message_id"])
    op.create_index("ix_outbox_sweep_id", "outbox", ["sweep_id"])
    op.create_index("ix_outbox_recipient_id", "outbox", ["recipient_id"])
