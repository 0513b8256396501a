"""Running sweeps: one transaction each, catch-up after downtime, the APScheduler wiring."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from jobs.policy import SweepPolicy
from jobs.sweep import SweepResult, sweep
from ledger.clock import Clock, as_utc
from ledger.db import session_scope
from ledger.models import SweepRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedNotice:
    """A queued row, detached from the session (a dry run rolls the rows themselves back)."""

    recipient_id: int | None
    chat_id: int | None
    kind: str
    text_key: str
    params: dict[str, Any]


def run_sweep(
    engine: Engine,
    policy: SweepPolicy,
    now: datetime,
    *,
    scheduled: bool = True,
    dry_run: bool = False,
    collect: bool = False,
) -> tuple[SweepResult, list[QueuedNotice]]:
    """Sweep in its own unit of work; with `collect`, also the rows it queued (for printing)."""
    from ledger.models import Outbox

    with session_scope(engine) as session:
        result = sweep(session=session, now=now, policy=policy, scheduled=scheduled)
        queued = (
            []
            if not collect
            else [
                QueuedNotice(r.recipient_id, r.chat_id, r.kind, r.text_key, r.params)
                for r in session.exec(
                    select(Outbox)
                    .where(Outbox.sweep_id == result.sweep_id)
                    .order_by(col(Outbox.recipient_id), col(Outbox.id))
                )
            ]
        )
        if dry_run:
            session.rollback()
    return result, queued


def last_completed_sweep(session: Session) -> datetime | None:
    value = session.exec(
        select(func.max(SweepRun.as_of)).where(
            col(SweepRun.scheduled).is_(True), col(SweepRun.completed_at).is_not(None)
        )
    ).one()
    return as_utc(value) if value is not None else None


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

    async def tick(self) -> SweepResult:
        result, _ = await asyncio.to_thread(run_sweep, self.engine, self.policy, self.clock.now())
        return result

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
