"""channels: group robots beside Telegram groups

A group that receives the weekly digest and the red list is a Telegram group (`/subscribe`) or
a group robot added by `ledgerbot groups add` (WeCom 群机器人, DingTalk custom robot, Feishu
custom bot). 0007_i15b_contacts already gave every group a channel and an address (a robot's
is its webhook) and every person their contacts; a robot's group adds the name the operator
gave it (unique when given) and its signing secret.

Revision ID: 0008_i17_channels
Revises: 0007_i15b_contacts
Create Date: 2026-12-01 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_i17_channels"
down_revision: str | None = "0007_i15b_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("group_subscription") as batch:
        batch.add_column(
            sa.Column("name", sa.String(length=100), nullable=False, server_default="")
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
    op.drop_index("ux_group_subscription_name", table_name="group_subscription")
    with op.batch_alter_table("group_subscription") as batch:
        batch.drop_column("secret")
        batch.drop_column("name")
