"""contacts: a person's addresses, one per channel, with reachability

Moves today's identity out of `official`: a bound person's Telegram account becomes their
telegram contact (address: the user id, which is also their private chat's id), with its
reachability; `official.mobile` / `official.email` (when present) become mobile / email
contacts.

Revision ID: 0006_i15b_contacts
Revises: 0004_i15_delivery
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_i15b_contacts"
down_revision: str | None = "0004_i15_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("preferred", sa.Boolean(), nullable=False),
        sa.Column("bound_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("official_id", "channel"),
        sa.UniqueConstraint("channel", "address"),
    )
    op.create_index("ix_contact_official_id", "contact", ["official_id"])
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("official")}
    bound = "COALESCE(bound_at, created_at)"
    op.execute(
        "INSERT INTO contact (official_id, channel, address, reachable, preferred, bound_at) "
        f"SELECT id, 'telegram', CAST(telegram_user_id AS VARCHAR(200)), reachable, false, {bound}"
        " FROM official WHERE telegram_user_id IS NOT NULL"
    )
    for channel in ("email", "mobile"):  # the people columns of #12, when they are there
        if channel in columns:
            op.execute(
                "INSERT INTO contact (official_id, channel, address, reachable, preferred, "
                f"bound_at) SELECT id, '{channel}', {channel}, true, false, created_at "
                f"FROM official WHERE {channel} IS NOT NULL AND {channel} <> ''"
            )


def downgrade() -> None:
    op.drop_index("ix_contact_official_id", table_name="contact")
    op.drop_table("contact")
