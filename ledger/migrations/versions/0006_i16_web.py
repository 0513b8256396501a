"""web: one-time dashboard sign-in links and the sessions they open

Revision ID: 0006_i16_web
Revises: 0004_i12_people
Create Date: 2026-12-01 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_i16_web"
down_revision: str | None = "0004_i12_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("session_until", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_link_official_id", "web_link", ["official_id"])


def downgrade() -> None:
    op.drop_index("ix_web_link_official_id", table_name="web_link")
    op.drop_table("web_link")
