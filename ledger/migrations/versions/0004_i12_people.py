"""officials: mobile and email; tasks: the sheet's last values; one official per person

Names typed with inner or full-width spaces ("刘　倩"), invisible characters, or a trailing
（职务） ("孙明（股长）") became second officials beside the real person. This merges each
such group into one official (the bound one if any, else the oldest): every task link,
binding, invite, progress report, evidence file, extension, notice and audit event now
points at the kept official; a trailing （职务） becomes the title.

`task.sheet_values` holds, per field, what the sheet said the last time the task was
imported, so a stale sheet never undoes work done in chat.

Revision ID: 0004_i12_people
Revises: 0004_i15_delivery (chained after #15's migration when main gained it)
Create Date: 2026-12-01 15:40:00
"""

import json
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ledger.names import split_name_title

revision: str = "0004_i12_people"
down_revision: str | None = "0004_i15_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) pointing at official.id, besides task_person (which needs de-duplicating)
REFERENCES = (
    ("task", "closed_by_id"),
    ("invite_code", "official_id"),
    ("progress_report", "author_id"),
    ("evidence", "uploaded_by_id"),
    ("extension_request", "requested_by_id"),
    ("extension_request", "decided_by_id"),
    ("audit_event", "actor_id"),
    ("audit_event", "official_id"),
    ("group_subscription", "subscribed_by_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("official", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mobile", sa.String(length=30), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("email", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sheet_values", sa.JSON(), nullable=True))
    merge_duplicate_officials(op.get_bind())
    seed_sheet_values(op.get_bind())


# the task fields an import wrote, as this revision knows them
SHEET_FIELDS = (
    "title",
    "measures",
    "target",
    "kind",
    "role",
    "lead_unit",
    "participating_units",
    "deadline",
    "status",
    "notes",
)


def _json(value: object) -> dict[str, object]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return value if isinstance(value, dict) else {}


def seed_sheet_values(bind: sa.Connection) -> None:
    """What the sheet said at each task's last import, rebuilt from the audit trail.

    Without it the first re-import after upgrading would treat every chat change (an approved
    extension, a closed task) as something the sheet did not know about, and undo it.
    """
    events = bind.execute(
        sa.text(
            "SELECT task_id, action, after FROM audit_event "
            "WHERE action IN ('import_create', 'import_update') AND task_id IS NOT NULL "
            "ORDER BY id"
        )
    ).all()
    record: dict[int, dict[str, object]] = defaultdict(dict)
    for task_id, _action, after in events:
        for name, value in _json(after).items():
            if name in SHEET_FIELDS and value is not None and value != "":
                record[task_id][name] = str(value)
    imported_progress = bind.execute(
        sa.text(
            "SELECT task_id, text FROM progress_report WHERE author_id IS NULL "
            "AND via = 'cli' ORDER BY created_at, id"
        )
    ).all()
    for task_id, text in imported_progress:
        if task_id in record:
            record[task_id]["progress"] = text
    refs: dict[int, str] = {
        row.id: row.ref for row in bind.execute(sa.text("SELECT id, ref FROM task"))
    }
    for task_id, values in record.items():
        if task_id not in refs:
            continue
        bind.execute(
            sa.text("UPDATE task SET sheet_values = :values WHERE id = :id").bindparams(
                sa.bindparam("values", type_=sa.JSON())
            ),
            {"values": {**values, "ref": refs[task_id]}, "id": task_id},
        )


def merge_duplicate_officials(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text("SELECT id, name, title, telegram_user_id FROM official ORDER BY id")
    ).all()
    groups: dict[str, list[tuple[int, str, str, int | None]]] = defaultdict(list)
    for row in rows:
        name, title = split_name_title(row.name)
        groups[name].append((row.id, row.name, title or row.title, row.telegram_user_id))
    for name, members in groups.items():
        # the bound official is kept (a second binding of the same person is dropped with its row)
        keep = next((m for m in members if m[3] is not None), members[0])
        title = keep[2] or next((m[2] for m in members if m[2]), "")
        others = [m for m in members if m[0] != keep[0]]
        for other in others:
            _repoint(bind, other[0], keep[0])
        if others:
            ids = [m[0] for m in others]
            bind.execute(
                sa.text("DELETE FROM official WHERE id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": ids},
            )
        if keep[1] != name or title:
            bind.execute(
                sa.text("UPDATE official SET name = :name, title = :title WHERE id = :id"),
                {"name": name, "title": title, "id": keep[0]},
            )


def _repoint(bind: sa.Connection, source: int, target: int) -> None:
    for table, column in REFERENCES:
        bind.execute(
            sa.text(f"UPDATE {table} SET {column} = :target WHERE {column} = :source"),
            {"target": target, "source": source},
        )
    # a task may list both spellings: keep one link per (task, duty)
    _move_unique(bind, "task_person", "official_id", ("task_id", "duty"), source, target)
    # notices are unique by (task, recipient, kind, stage): a duplicate of the kept person's goes
    _move_unique(bind, "outbox", "recipient_id", ("task_id", "kind", "stage"), source, target)


def _move_unique(
    bind: sa.Connection,
    table: str,
    column: str,
    keys: tuple[str, ...],
    source: int,
    target: int,
) -> None:
    """Repoint rows where (column, *keys) is unique: drop the ones the target already has."""
    same = " AND ".join(f"kept.{k} = {table}.{k}" for k in keys)
    bind.execute(
        sa.text(
            f"DELETE FROM {table} WHERE {column} = :source AND EXISTS (SELECT 1 FROM {table} "
            f"AS kept WHERE kept.{column} = :target AND {same})"
        ),
        {"target": target, "source": source},
    )
    bind.execute(
        sa.text(f"UPDATE {table} SET {column} = :target WHERE {column} = :source"),
        {"target": target, "source": source},
    )


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): batch mode would copy `task` and `official`, which
    # other tables reference, and foreign keys are enforced
    op.drop_column("task", "sheet_values")
    op.drop_column("official", "email")
    op.drop_column("official", "mobile")
