"""identity leaves Telegram: contacts, group contacts, sent messages

Moves today's identity out of `official`: a bound person's Telegram account becomes their
telegram contact (address: the user id, which is also their private chat's id), with its
reachability (#12's `official.mobile` / `official.email` stay where they are for now).
A subscribed group keeps its chat as a channel and address. The outbox stops being
Telegram's reply index: each sent message (channel, address, message id) becomes a
`sent_message` row pointing to its outbox row, and the prompt and digest marker rows move
there entirely. Outbox rows name their group (`group_id`), not a chat id, and a person's
pending row is routed to a channel (NULL while they have no reachable contact). Evidence keeps
the channel a file came by and its id there (`channel_file_id`, was `telegram_file_id`).

Revision ID: 0007_i15b_contacts
Revises: 0006_i16_web
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_i15b_contacts"
down_revision: str | None = "0006_i16_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OUTBOX_SENT = sa.text("sent_message_id IS NOT NULL")
MARKERS = "('prompt', 'digest')"


def upgrade() -> None:
    bind = op.get_bind()
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
    op.execute(
        "INSERT INTO contact (official_id, channel, address, reachable, preferred, bound_at) "
        "SELECT id, 'telegram', CAST(telegram_user_id AS VARCHAR(200)), reachable, false, "
        "COALESCE(bound_at, created_at) FROM official WHERE telegram_user_id IS NOT NULL"
    )

    # group chats: a channel and an address, with an id the outbox can point to
    op.rename_table("group_subscription", "group_subscription_0005")
    op.create_table(
        "group_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("subscribed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscribed_by_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address"),
    )
    op.execute(
        "INSERT INTO group_subscription (channel, address, title, subscribed_by_id, created_at) "
        "SELECT 'telegram', CAST(chat_id AS VARCHAR(200)), title, subscribed_by_id, created_at "
        "FROM group_subscription_0005 ORDER BY created_at, chat_id"
    )
    op.drop_table("group_subscription_0005")

    # sent messages: the reply index, out of the outbox
    op.create_table(
        "sent_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.ForeignKeyConstraint(["recipient_id"], ["official.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address", "message_id"),
    )
    op.create_index("ix_sent_message_outbox_id", "sent_message", ["outbox_id"])
    op.execute(
        "INSERT INTO sent_message (channel, address, message_id, outbox_id, kind, recipient_id, "
        "task_id, params, sent_at) SELECT COALESCE(channel, 'telegram'), "
        "CAST(chat_id AS VARCHAR(200)), CAST(sent_message_id AS VARCHAR(100)), "
        f"CASE WHEN kind IN {MARKERS} THEN NULL ELSE id END, kind, recipient_id, task_id, "
        "params, COALESCE(sent_at, created_at) FROM outbox WHERE id IN (SELECT MIN(id) FROM "
        "outbox WHERE sent_message_id IS NOT NULL AND chat_id IS NOT NULL "
        "GROUP BY chat_id, sent_message_id)"
    )
    op.execute(f"DELETE FROM outbox WHERE kind IN {MARKERS} AND sent_message_id IS NOT NULL")

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_outbox_group_id", "group_subscription", ["group_id"], ["id"])
        batch.alter_column("channel", existing_type=sa.String(length=20), nullable=True)
    op.execute(
        "UPDATE outbox SET group_id = (SELECT g.id FROM group_subscription g WHERE "
        "g.address = CAST(outbox.chat_id AS VARCHAR(200))) "
        "WHERE recipient_id IS NULL AND chat_id IS NOT NULL"
    )
    op.execute(  # a person's waiting notice with nowhere to go waits unrouted
        "UPDATE outbox SET channel = NULL WHERE recipient_id IS NOT NULL AND status = 'pending' "
        "AND recipient_id NOT IN (SELECT official_id FROM contact)"
    )
    op.drop_index("ix_outbox_sent", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sent_message_id")
        batch.drop_column("chat_id")
    with op.batch_alter_table("official") as batch:
        if bind.dialect.name == "postgresql":
            batch.drop_constraint("official_telegram_user_id_key", type_="unique")
        batch.drop_column("telegram_user_id")
        batch.drop_column("chat_id")
        batch.drop_column("reachable")
        batch.drop_column("bound_at")
    with op.batch_alter_table("invite_code") as batch:
        batch.drop_column("used_by_telegram_id")
    with op.batch_alter_table("evidence") as batch:  # a file's id on the channel it came by
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch.alter_column(
            "telegram_file_id", new_column_name="channel_file_id", existing_type=sa.String()
        )
        batch.alter_column(
            "telegram_file_unique_id",
            new_column_name="channel_file_unique_id",
            existing_type=sa.String(),
        )
    op.execute("UPDATE evidence SET channel = 'telegram' WHERE channel_file_id <> ''")


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.alter_column(
            "channel_file_id", new_column_name="telegram_file_id", existing_type=sa.String()
        )
        batch.alter_column(
            "channel_file_unique_id",
            new_column_name="telegram_file_unique_id",
            existing_type=sa.String(),
        )
        batch.drop_column("channel")
    with op.batch_alter_table("invite_code") as batch:
        batch.add_column(sa.Column("used_by_telegram_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("official") as batch:
        batch.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("reachable", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("bound_at", sa.DateTime(), nullable=True))
        batch.create_unique_constraint("official_telegram_user_id_key", ["telegram_user_id"])
    tg = "FROM contact c WHERE c.official_id = official.id AND c.channel = 'telegram'"
    op.execute(
        f"UPDATE official SET telegram_user_id = (SELECT CAST(c.address AS BIGINT) {tg}), "
        f"chat_id = (SELECT CAST(c.address AS BIGINT) {tg}), "
        f"reachable = COALESCE((SELECT c.reachable {tg}), true), "
        f"bound_at = (SELECT c.bound_at {tg})"
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("sent_message_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE outbox SET chat_id = (SELECT CAST(g.address AS BIGINT) FROM group_subscription g"
        " WHERE g.id = outbox.group_id) WHERE group_id IS NOT NULL"
    )
    op.execute(
        "UPDATE outbox SET chat_id = (SELECT CAST(s.address AS BIGINT) FROM sent_message s "
        "WHERE s.outbox_id = outbox.id), sent_message_id = (SELECT CAST(s.message_id AS BIGINT)"
        " FROM sent_message s WHERE s.outbox_id = outbox.id) "
        "WHERE id IN (SELECT outbox_id FROM sent_message)"
    )
    op.execute("UPDATE outbox SET channel = 'telegram' WHERE channel IS NULL")
    op.create_index(
        "ix_outbox_sent",
        "outbox",
        ["chat_id", "sent_message_id"],
        sqlite_where=OUTBOX_SENT,
        postgresql_where=OUTBOX_SENT,
    )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_group_id", type_="foreignkey")
        batch.drop_column("group_id")
        batch.alter_column("channel", existing_type=sa.String(length=20), nullable=False)
    op.drop_index("ix_sent_message_outbox_id", table_name="sent_message")
    op.drop_table("sent_message")
    op.rename_table("group_subscription", "group_subscription_0006")
    op.create_table(
        "group_subscription",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("subscribed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscribed_by_id"], ["official.id"]),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.execute(
        "INSERT INTO group_subscription (chat_id, title, subscribed_by_id, created_at) "
        "SELECT CAST(address AS BIGINT), title, subscribed_by_id, created_at "
        "FROM group_subscription_0006 WHERE channel = 'telegram'"
    )
    op.drop_table("group_subscription_0006")
    op.drop_index("ix_contact_official_id", table_name="contact")
    op.drop_table("contact")
