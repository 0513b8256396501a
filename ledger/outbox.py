"""Writing to the outbox: the only way anything in the ledger asks for a message to be sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from ledger.clock import as_utc
from ledger.contacts import routed_channel
from ledger.db import COMPOUND_LIMIT, literal_table
from ledger.enums import Channel, Duty, OfficialRole, OutboxStatus
from ledger.models import (
    Contact,
    GroupSubscription,
    Official,
    Outbox,
    Task,
    TaskPerson,
    UTCDateTime,
)


def after_quiet_hours(now: datetime, zone: ZoneInfo, window: tuple[time, time] | None) -> datetime:
    """`now`, or the end of the quiet window if `now` falls inside it (events wait till morning)."""
    if window is None:
        return now
    start, end = window
    local = as_utc(now).astimezone(zone)
    t = local.time()
    if start == end:
        return now
    # a window that crosses midnight (21:00-08:00) is quiet after start OR before end
    quiet = (t >= start or t < end) if start > end else (start <= t < end)
    if not quiet:
        return now
    wake = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if wake <= local:
        wake += timedelta(days=1)
    return as_utc(wake)


def insert_ignore(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose key exists (see `Outbox`): idempotent across
    processes. Returns how many were added."""
    if not rows:
        return 0
    _route(session, rows)
    dialect = session.get_bind().dialect.name
    table = Outbox.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt: Any = insert(table).on_conflict_do_nothing()
    total = 0
    for start in range(0, len(rows), 500):
        result: Any = session.execute(
            stmt, rows[start : start + 500], execution_options={"preserve_rowcount": True}
        )
        total += max(result.rowcount or 0, 0)
    return total


def _route(session: Session, rows: list[dict[str, Any]]) -> None:
    """Each person's row goes to the channel they are reached on now (`contacts.route`)."""
    people = {r["recipient_id"] for r in rows if r["recipient_id"] is not None and not r["channel"]}
    if not people:
        return
    channels = dict(
        session.execute(
            sa.select(col(Official.id), routed_channel(col(Official.id))).where(
                col(Official.id).in_(people)
            )
        ).all()
    )
    for row in rows:
        if row["recipient_id"] is not None and not row["channel"]:
            row["channel"] = channels.get(row["recipient_id"])


SELECTED_COLUMNS = (
    "dedupe_key",
    "recipient_id",
    "kind",
    "family",
    "task_id",
    "stage",
    "urgency",
    "text_key",
    "params",
)


def insert_from_select(
    session: Session,
    rows: Any,
    *,
    now: datetime,
    sweep_id: int | None,
    channel: Any = None,
) -> int:
    """INSERT … SELECT into the outbox, skipping existing keys; returns how many it added.

    `rows` selects `SELECTED_COLUMNS` in that order (the parameters as JSON text); every other
    column is what `outbox_row` gives a fresh row. `channel` is a value or a column expression
    of the select, so a row can be routed per recipient when it is queued.
    """
    dialect = session.get_bind().dialect.name
    selected = list(rows.selected_columns)
    if len(selected) != len(SELECTED_COLUMNS):
        raise ValueError(f"insert_from_select needs {SELECTED_COLUMNS}, got {len(selected)}")
    if dialect == "postgresql":
        selected[-1] = sa.cast(selected[-1], postgresql.JSON)
    constant = {
        "sweep_id": sweep_id,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "last_error": "",
        "claimed_by": "",
    }
    if channel is None:  # each person's notice goes where they are reached (contacts)
        route = routed_channel(selected[1])
    else:
        route = channel if isinstance(channel, sa.ColumnElement) else sa.literal(channel)
    full = rows.with_only_columns(
        *selected,
        route,
        *(sa.literal(v) for v in constant.values()),
        sa.literal(now, UTCDateTime()),
        sa.literal(now, UTCDateTime()),
    )
    table = Outbox.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    result: Any = session.execute(
        insert.from_select(
            [*SELECTED_COLUMNS, "channel", *constant, "not_before", "created_at"], full
        ).on_conflict_do_nothing(),
        execution_options={"preserve_rowcount": True},  # PostgreSQL reports -1 without it
    )
    return max(result.rowcount or 0, 0)


def outbox_row(
    *,
    kind: str,
    text_key: str,
    not_before: datetime,
    now: datetime,
    dedupe_key: str,
    recipient_id: int | None = None,
    group: GroupSubscription | None = None,
    task_id: int | None = None,
    stage: str = "",
    family: str = "",
    urgency: int = 0,
    params: dict[str, Any] | None = None,
    status: OutboxStatus = OutboxStatus.PENDING,
    sweep_id: int | None = None,
) -> dict[str, Any]:
    """One row to insert. `dedupe_key` is kept only where (task, recipient, kind, stage) cannot
    identify the row, so the unique index on it stays small. A person's row is routed to a
    channel when it is inserted; a group's goes to the group's channel."""
    keyed_by_notice = task_id is not None and recipient_id is not None
    if not keyed_by_notice and not dedupe_key:
        raise ValueError(f"an outbox row without a task or recipient needs a key ({kind})")
    return {
        "dedupe_key": "" if keyed_by_notice else dedupe_key,
        "channel": group.channel if group is not None else None,
        "recipient_id": recipient_id,
        "group_id": group.id if group is not None else None,
        "kind": kind,
        "family": family or kind,
        "task_id": task_id,
        "stage": stage,
        "urgency": urgency,
        "sweep_id": sweep_id,
        "text_key": text_key,
        "params": params or {},
        "not_before": not_before,
        "status": status.value,
        "attempts": 0,
        "last_error": "",
        "created_at": now,
    }


def task_people(session: Session, task_id: int, duty: Duty) -> list[Official]:
    stmt = (
        select(Official)
        .join(TaskPerson, TaskPerson.official_id == Official.id)  # type: ignore[arg-type]
        .where(TaskPerson.task_id == task_id, TaskPerson.duty == duty)
        .order_by(TaskPerson.position)  # type: ignore[arg-type]
    )
    return list(session.exec(stmt))


def supervisor_pairs(session: Session, task_ids: Any) -> Any:
    """(task_id, official_id, position) for each task of `task_ids` (ids, or a select of them):
    its 督办人, or where the sheet named none, every official with the supervisor role.

    The one home of that fallback: the sweep joins it, `supervisors_of` reads it for one task.
    The supervisors are read first (a few people) so the join never scans officials per task.
    """
    people = TaskPerson.__table__  # type: ignore[attr-defined]
    tasks = Task.__table__  # type: ignore[attr-defined]
    supervisor = Duty.SUPERVISOR.value
    named = sa.select(
        people.c.task_id.label("task_id"),
        people.c.official_id.label("official_id"),
        people.c.position.label("position"),
    ).where(people.c.duty == supervisor, people.c.task_id.in_(task_ids))
    everyone = [
        {"official_id": oid}
        for oid in session.exec(
            select(col(Official.id)).where(Official.role == OfficialRole.SUPERVISOR)
        )
    ][:COMPOUND_LIMIT]
    if not everyone:
        return named.subquery("supervisors")
    table = literal_table(everyone, "all_supervisors")
    fallback = (
        sa.select(tasks.c.id, table.c.official_id, table.c.official_id)
        .select_from(tasks.join(table, sa.true()))
        .where(
            tasks.c.id.in_(task_ids),
            ~sa.exists().where(people.c.task_id == tasks.c.id, people.c.duty == supervisor),
        )
    )
    return sa.union_all(named, fallback).subquery("supervisors")


def supervisors_by_task(session: Session, task_ids: list[int]) -> dict[int, list[int]]:
    """Each task's supervisors (see `supervisor_pairs`), in sheet order."""
    found: dict[int, list[int]] = {}
    for start in range(0, len(task_ids), 900):
        pairs = supervisor_pairs(session, task_ids[start : start + 900])
        for task_id, official_id in session.execute(
            sa.select(pairs.c.task_id, pairs.c.official_id).order_by(
                pairs.c.task_id, pairs.c.position
            )
        ):
            found.setdefault(task_id, []).append(official_id)
    return found


def supervisors_of(session: Session, task_id: int) -> list[Official]:
    """The task's 督办人; where the sheet named none, every official with the supervisor role."""
    pairs = supervisor_pairs(session, [task_id])
    return list(
        session.exec(
            select(Official)
            .join(pairs, pairs.c.official_id == Official.id)
            .order_by(pairs.c.position)
        )
    )


def notify(
    session: Session,
    *,
    recipients: Iterable[Official],
    kind: str,
    text_key: str,
    now: datetime,
    zone: ZoneInfo,
    quiet: tuple[time, time] | None,
    task_id: int | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """Queue a pushed event message (never held for working days, only for quiet hours).

    Each event is its own row (a fresh key), unlike sweep notices whose keys make sweeps idempotent.
    """
    not_before = after_quiet_hours(now, zone, quiet)
    stamp = uuid.uuid4().hex
    rows = [
        outbox_row(
            kind=kind,
            text_key=text_key,
            not_before=not_before,
            now=now,
            dedupe_key=f"{kind}:{task_id or 0}:{person.id}:{stamp}",
            recipient_id=person.id,
            task_id=task_id,
            stage=f"{now.isoformat()}#{stamp[:12]}",
            params=params,
        )
        for person in recipients
    ]
    return insert_ignore(session, rows)


def _claimable(now: datetime) -> Any:
    return sa.and_(
        col(Outbox.status) == OutboxStatus.PENDING,
        sa.or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now),
    )


def _claim(
    session: Session, candidates: Any, worker: str, now: datetime, lease: float
) -> list[int]:
    """Mark the candidate rows as this worker's for `lease` seconds; returns the ids it got.

    On PostgreSQL the candidates are locked FOR UPDATE SKIP LOCKED, so concurrent workers take
    disjoint rows without waiting; SQLite has a single writer, which serialises claims anyway.
    A worker that dies leaves claims that expire, and the rows go to the others.
    """
    ids = candidates.with_for_update(skip_locked=True).scalar_subquery()
    claimed = (
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.id).in_(ids))
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
            .returning(col(Outbox.id))
        )
        .scalars()
        .all()
    )
    session.commit()
    return sorted(claimed)


def claim_due(
    session: Session, *, worker: str, now: datetime, limit: int, lease: float, channel: Channel
) -> list[int]:
    """Claim the next due rows whose recipient can be reached on `channel`, oldest first."""
    reachable = select(Contact.official_id).where(
        col(Contact.channel) == channel, col(Contact.reachable).is_(True)
    )
    candidates = (
        select(col(Outbox.id))
        .where(
            _claimable(now),
            col(Outbox.channel) == channel,
            col(Outbox.not_before) <= now,
            col(Outbox.recipient_id).in_(reachable) | col(Outbox.group_id).is_not(None),
        )
        .order_by(col(Outbox.not_before), col(Outbox.id))
        .limit(limit)
    )
    return _claim(session, candidates, worker, now, lease)


def claim_siblings(
    session: Session, row: Outbox, *, worker: str, now: datetime, lease: float
) -> list[int]:
    """The other pending reminders of the same sweep for the same person (for one digest)."""
    candidates = select(col(Outbox.id)).where(
        col(Outbox.sweep_id) == row.sweep_id,
        col(Outbox.recipient_id) == row.recipient_id,
        col(Outbox.kind) == row.kind,
        col(Outbox.status) == OutboxStatus.PENDING,
        sa.or_(
            col(Outbox.claimed_by) == worker,
            col(Outbox.claimed_until).is_(None),
            col(Outbox.claimed_until) < now,
        ),
    )
    return _claim(session, candidates, worker, now, lease)
