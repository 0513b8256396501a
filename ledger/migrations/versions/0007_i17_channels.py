"""channels: contacts on WeCom, DingTalk, email; group robots beside Telegram groups

`contact` holds a person's address on each channel other than Telegram and whether that
channel refused it; `channel_preference` puts one channel first for one person.

A group that receives the weekly digest and the red list is a Telegram group (`/subscribe`) or
a group robot added by `ledgerbot groups add` (WeCom 群机器人, DingTalk custom robot, Feishu
custom bot): its name, channel, webhook and signing secret. A robot's group gets a chat id of
its own below every Telegram chat id, so outbox rows address both alike.

Revision ID: 0007_i17_channels
Revises: 0006_i16_web
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_i17_channels"
down_revision: str | None = "0006_i16_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("refused_reason", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("official_id", "channel"),
    )
    op.create_table(
        "channel_preference",
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("official_id"),
    )
    with op.batch_alter_table("group_subscription") as batch:
        batch.add_column(
            sa.Column("name", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("channel", sa.String(length=20), nullable=False, server_default="telegram")
        )
        batch.add_column(
            sa.Column("webhook", sa.String(length=500), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("secret", sa.String(length=200), nullable=False, server_default="")
        )
    op.create_index(
        "ux_group_subscription_name",
        "group_subscription",
        ["name"],
        unique=True,
        sqlite_where=sa.text("name <> ''"),
        postgresql_where=sa.text("name <> ''"),
    )


def downgrade() -> None:
    op.drop_table("channel_preference")
    op.drop_table("contact")
    op.drop_index("ux_group_subscription_name", table_name="group_subscription")
    with op.batch_alter_table("group_subscription") as batch:
        batch.drop_column("secret")
        batch.drop_column("webhook")
        batch.drop_column("channel")
        batch.drop_column("name")
