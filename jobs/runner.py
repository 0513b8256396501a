"""Running sweeps: one transaction each, catch-up after downtime, the APScheduler wiring."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from jobs.policy import SweepPolicy
from jobs.sweep import SweepResult, sweep
from ledger.clock import Clock, as_utc
from ledger.db import session_scope
from ledger.models import Outbox, SweepRun
from ledger.notices import enrich

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedNotice:
    """A queued row, detached from the session (a dry run rolls the rows themselves back)."""

    recipient_id: int | None
    group_id: int | None
    kind: str
    text_key: str
    params: dict[str, Any]

    @classmethod
    def of(cls, session: Session, row: Outbox, *, today: date, yellow_days: int) -> QueuedNotice:
        """The row as its recipient would read it on `today`: the sweep stores only the stage,
        the task's details are read as they are now (as the dispatcher does when it sends)."""
        params = enrich(
            session,
            row.task_id,
            row.params,
            today=today,
            yellow_days=yellow_days,
            kind=row.kind,
        )
        return cls(row.recipient_id, row.group_id, row.kind, row.text_key, params)


def run_sweep(
    engine: Engine,
    policy: SweepPolicy,
    now: datetime,
    *,
    scheduled: bool = True,
    dry_run: bool = False,
    collect: bool = False,
    limit: int | None = None,
) -> tuple[SweepResult, list[QueuedNotice]]:
    """Sweep in its own unit of work; with `collect`, also the rows it queued (for printing),
    the `limit` most urgent if a limit is given."""
    with session_scope(engine) as session:
        result = sweep(session=session, now=now, policy=policy, scheduled=scheduled)
        queued: list[QueuedNotice] = []
        if collect:
            result.stages = stage_counts(session, result.sweep_id)
            rows = (
                select(Outbox)
                .where(Outbox.sweep_id == result.sweep_id)
                # the most urgent first: oversight notices, escalations, overdue reminders
                .order_by(col(Outbox.urgency).desc(), col(Outbox.recipient_id), col(Outbox.id))
                .limit(limit)
            )
            queued = [
                QueuedNotice.of(
                    session, r, today=result.today, yellow_days=policy.rules.yellow_days
                )
                for r in session.exec(rows)
            ]
        if dry_run:
            session.rollback()
    return result, queued


def stage_name(kind: str, stage: str) -> str:
    """A queued row's stage without its dates: before:10, overdue, oversight, week, …"""
    parts = stage.split(":")
    if kind == "reminder" and parts[0] == "before":
        return f"before:{parts[-1]}"
    return parts[0] or kind


def stage_counts(session: Session, sweep_id: int | None) -> Counter[tuple[str, str]]:
    """How many rows a sweep queued, by kind and stage (one grouped query: stages differ by
    deadline, so there are about as many groups as deadlines in the horizon)."""
    counts: Counter[tuple[str, str]] = Counter()
    grouped = (
        sa.select(col(Outbox.kind), col(Outbox.stage), func.count())
        .where(col(Outbox.sweep_id) == sweep_id)
        .group_by(col(Outbox.kind), col(Outbox.stage))
    )
    for kind, stage, n in session.execute(grouped):
        counts[(kind, stage_name(kind, stage))] += n
    return counts


def last_completed_sweep(session: Session) -> datetime | None:
    value = session.exec(
        select(func.max(SweepRun.as_of)).where(
            col(SweepRun.scheduled).is_(True), col(SweepRun.completed_at).is_not(None)
        )
    ).one()
    return as_utc(value) if value is not None else None


SWEEP_LOCK_KEY = 0x1ED9E7  # the advisory lock every process takes before a scheduled sweep


def _take_sweep_lock(session: Session) -> bool:
    """One scheduled sweep at a time across processes.

    PostgreSQL: a transaction-scoped advisory lock (released at commit, also if the process
    dies). SQLite: a write at once, so a second process waits for the first to commit and then
    finds the slot already swept.
    """
    if session.get_bind().dialect.name == "postgresql":
        return bool(
            session.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}
            ).scalar()
        )
    session.execute(sa.text("UPDATE sweep_run SET queued = queued WHERE id = -1"))
    return True


def sweep_due(session: Session, now: datetime, policy: SweepPolicy) -> bool:
    """The latest scheduled slot has not been swept yet (by this or any other process)."""
    last = last_completed_sweep(session)
    return last is None or last < policy.last_scheduled_instant(now)


def run_scheduled_sweep(engine: Engine, policy: SweepPolicy, now: datetime) -> SweepResult | None:
    """The cron job's sweep: exactly one process sweeps each slot; the others skip it."""
    with session_scope(engine) as session:
        if not _take_sweep_lock(session):
            log.info("sweep_skipped reason=another-process-sweeping")
            return None
        if not sweep_due(session, now, policy):
            log.info("sweep_skipped reason=slot-already-swept")
            return None
        return sweep(session=session, now=now, policy=policy, scheduled=True)


def catch_up_due(session: Session, now: datetime, policy: SweepPolicy) -> bool:
    """A scheduled sweep was missed since the last completed one (a fresh database missed none)."""
    last = last_completed_sweep(session)
    if last is None:
        return False
    return last < policy.last_scheduled_instant(now)


class SweepScheduler:
    """APScheduler's AsyncIOScheduler running the sweep daily at the send time, in the zone.

    Coalescing and a long misfire grace cover a stalled loop; downtime is covered by the
    catch-up check at start, which reads the last completed sweep from the database.
    """

    def __init__(self, engine: Engine, policy: SweepPolicy, clock: Clock) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger

        self.engine = engine
        self.policy = policy
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone=policy.zone)
        send = policy.rules.send_time
        self.scheduler.add_job(
            self.tick,
            CronTrigger(hour=send.hour, minute=send.minute, timezone=policy.zone),
            id="deadline-sweep",
            coalesce=True,
            misfire_grace_time=6 * 3600,
            max_instances=1,
        )

    async def tick(self) -> SweepResult | None:
        return await asyncio.to_thread(
            run_scheduled_sweep, self.engine, self.policy, self.clock.now()
        )

    async def start(self) -> SweepResult | None:
        """Start the cron job; run a catch-up sweep first if one was missed."""
        now = self.clock.now()
        with Session(self.engine) as session:
            due = catch_up_due(session, now, self.policy)
        result = None
        if due:
            log.warning("catch_up_sweep as_of=%s", now.isoformat())
            result = await self.tick()
        self.scheduler.start()
        return result

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
