"""The audit trail: every state change writes one event, in the same transaction."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from ledger.context import Actor, WorkContext
from ledger.models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(
    ctx: WorkContext,
    action: str,
    *,
    task_id: int | None = None,
    official_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=ctx.now,
        actor_id=ctx.actor.official_id,
        actor_name=ctx.actor.name,
        via=ctx.actor.via,
        action=action,
        task_id=task_id,
        official_id=official_id,
        before={k: _plain(v) for k, v in before.items()} if before else None,
        after={k: _plain(v) for k, v in after.items()} if after else None,
    )
    ctx.session.add(event)
    return event


def record_from_select(session: Any, *, now: datetime, actor: Actor, action: str, rows: Any) -> int:
    """One event per selected (task id, after as JSON text) row, as one INSERT … SELECT: the
    sweep's escalations, however many, without a Python loop. Returns how many it wrote."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    table = AuditEvent.__table__  # type: ignore[attr-defined]
    task_id, after = list(rows.selected_columns)
    if session.get_bind().dialect.name == "postgresql":
        after = sa.cast(after, postgresql.JSON)
    full = rows.with_only_columns(
        sa.literal(now, table.c.at.type),
        sa.literal(actor.official_id, sa.Integer),
        sa.literal(actor.name),
        sa.literal(actor.via.value),
        sa.literal(action),
        task_id,
        after,
    )
    result: Any = session.execute(
        sa.insert(table).from_select(
            ["at", "actor_id", "actor_name", "via", "action", "task_id", "after"], full
        ),
        execution_options={"preserve_rowcount": True},
    )
    return max(result.rowcount or 0, 0)
