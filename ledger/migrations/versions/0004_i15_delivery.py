"""delivery: parts accepted, failing since, and worker heartbeats

A long notice goes out in parts; `parts_sent` records each part as the channel accepts it so a
retry resumes from the first part not accepted. `failing_since` is when transient failures
began (they never end a notice; after `delivery.give_up_hours` the supervisor is told). A
`delivery_worker` row is each running worker's heartbeat: the claims of a worker whose beat
stopped are released at once instead of when their lease runs out.

Revision ID: 0004_i15_delivery
Revises: 0003
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_i15_delivery"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))
    op.create_table(
        "delivery_worker",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("delivery_worker")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("failing_since")
        batch.drop_column("parts_sent")
