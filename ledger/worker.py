"""The delivery worker: one loop that drains the outbox through any channel's sender.

Due rows are claimed (a lease; on PostgreSQL FOR UPDATE SKIP LOCKED), grouped in one lane per
address so each address gets its notices in order, and sent with up to `concurrent_sends` in
flight. Each accepted part is recorded at once, so a crash repeats at most the part in flight.
A heartbeat row says the worker is alive; the claims of a worker that is gone are released at
start (SQLite, one process per file) or as soon as its heartbeat stops (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from config import Settings
from ledger import contacts, delivery
from ledger.clock import Clock
from ledger.delivery import (
    Delivery,
    DeliveryFailure,
    RateLimited,
    Refused,
    Sender,
    Unreachable,
)
from ledger.enums import Channel
from ledger.models import Outbox
from ledger.outbox import claim_due

log = logging.getLogger(__name__)

FULL_ASSIGN_SECONDS = 60.0  # how often a drain routes every pending notice, not only new ones


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    covered: int = 0


class Worker:
    """Drives the given senders (one per channel) from the outbox until stopped."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        senders: Iterable[Sender],
        *,
        name: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.senders: dict[Channel, Sender] = {s.channel: s for s in senders}
        self.routing = contacts.Routing.of(settings.delivery.channels(), self.senders)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stats = DeliveryStats()
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests need not wait
        self._stopping = asyncio.Event()
        self._last_part: dict[tuple[Channel, str], float] = {}
        self._last_beat = 0.0
        self._last_full_assign = -FULL_ASSIGN_SECONDS  # the first drain routes everything
        self._assigned_upto = 0

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @property
    def cfg(self) -> Any:
        return self.settings.delivery

    def stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        """Poll the outbox until stopped; the message in flight is finished first."""
        self.start()
        try:
            while not self._stopping.is_set():
                try:
                    self.heartbeat()
                    await self.drain()
                except Exception:
                    log.exception("delivery_loop_error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), timeout=self.cfg.dispatch_interval
                    )
        finally:
            with self.session() as session:
                delivery.retire(session, self.name)

    def assign(self, session: Session) -> None:
        """Route what waits to this deployment's channels: the rows queued since the last
        pass, and every pending row once a `FULL_ASSIGN_SECONDS` (contacts changed elsewhere
        are rerouted at once by the core's order; this brings them to the deployment's). A
        full pass over 1M pending notices takes seconds; a drain must not pay it each time."""
        newest = session.execute(sa.select(sa.func.max(col(Outbox.id)))).scalar() or 0
        full = time.monotonic() - self._last_full_assign >= FULL_ASSIGN_SECONDS
        contacts.assign(session, self.routing, after_id=0 if full else self._assigned_upto)
        if full:
            self._last_full_assign = time.monotonic()
        self._assigned_upto = newest

    def start(self) -> None:
        """The first beat. On SQLite (one process per database file) every claim left by an
        earlier process is an orphan; elsewhere, those of workers whose beat has stopped."""
        self._beat(alone=self.engine.dialect.name == "sqlite")

    def heartbeat(self) -> None:
        """Beat, and take back the claims of workers whose beat has stopped."""
        if time.monotonic() - self._last_beat >= self.cfg.heartbeat_seconds:
            self._beat(alone=False)

    def _beat(self, *, alone: bool) -> None:
        self._last_beat = time.monotonic()
        now = self.clock.now()
        with self.session() as session:
            delivery.beat(session, self.name, now)
            back = delivery.release_orphans(
                session,
                worker=self.name,
                now=now,
                silent_after=3 * self.cfg.heartbeat_seconds,
                alone=alone,
            )
        if back:
            log.info("released_orphans rows=%s worker=%s", back, self.name)

    async def drain(self, limit: int = 100) -> DeliveryStats:
        """Claim and send what is due now (up to `limit` rows per channel); other workers
        take the rest. Each address's notices go one after another, in order."""
        lanes: dict[tuple[Channel, Any], list[int]] = defaultdict(list)
        claimed: list[int] = []
        with self.session() as session:
            self.assign(session)
            for channel in self.senders:
                ids = claim_due(
                    session,
                    worker=self.name,
                    now=self.clock.now(),
                    limit=limit,
                    lease=self.cfg.claim_seconds,
                    channel=channel,
                )
                claimed += ids
                for row_id, recipient_id, group_id in session.execute(
                    sa.select(col(Outbox.id), col(Outbox.recipient_id), col(Outbox.group_id))
                    .where(col(Outbox.id).in_(ids))
                    .order_by(col(Outbox.id))
                ):
                    lanes[(channel, (recipient_id, group_id))].append(row_id)
        in_flight = asyncio.Semaphore(self.cfg.concurrent_sends)

        async def lane(channel: Channel, row_ids: list[int]) -> None:
            for row_id in row_ids:
                if self._stopping.is_set():
                    return
                async with in_flight:
                    await self.send_one(self.senders[channel], row_id)

        await asyncio.gather(*(lane(key[0], ids) for key, ids in lanes.items()))
        if self._stopping.is_set():
            with self.session() as session:  # not sent: give them back at once
                delivery.release(session, claimed, worker=self.name)
        return self.stats

    async def send_one(self, sender: Sender, row_id: int) -> None:
        now = self.clock.now()
        with self.session() as session:
            job = delivery.prepare(
                session, row_id, worker=self.name, now=now, settings=self.settings
            )
            if job is None:
                return
        parts = list(sender.render(job.notice, job.lang))
        message_id: int | str = 0
        try:
            for index in range(job.parts_sent, len(parts)):
                if job.address.private:
                    await self.pace(sender, job.address.value)
                try:
                    message_id = await sender.send(job.address, parts[index])
                finally:  # counted from the answer: the channel saw the send before that
                    self._last_part[(sender.channel, job.address.value)] = time.monotonic()
                if index < len(parts) - 1:
                    with self.session() as session:
                        delivery.part_accepted(session, job.row_ids, index + 1)
        except DeliveryFailure as failure:
            await self.failed(job, failure)
            return
        with self.session() as session:
            delivery.mark_sent(
                session, job, message_id=message_id, parts=len(parts), now=self.clock.now()
            )
        self.stats.sent += 1
        log.info(
            "sent rows=%s task=%s official=%s kind=%s channel=%s message_id=%s",
            ",".join(str(r) for r in job.row_ids),
            job.task_id,
            job.recipient_id,
            job.kind,
            sender.channel.value,
            message_id,
        )

    async def failed(self, job: Delivery, failure: DeliveryFailure) -> None:
        ids, now, reason = job.row_ids, self.clock.now(), failure.reason
        log.warning(
            "delivery_failed rows=%s kind=%s error=%s",
            ",".join(str(r) for r in ids),
            type(failure).__name__,
            reason,
        )
        if isinstance(failure, RateLimited):
            await self.sleep(failure.retry_after)
            self.stats.retried += 1
            with self.session() as session:
                delivery.release(session, ids, worker=self.name)  # still due: the next drain
            return
        with self.session() as session:
            if isinstance(failure, Unreachable):
                delivery.mark_blocked(
                    session,
                    ids,
                    reason,
                    now=now,
                    settings=self.settings,
                    running=list(self.senders),
                )
                self.stats.failed += 1
            elif isinstance(failure, Refused):
                delivery.mark_refused(session, ids, reason, now=now, settings=self.settings)
                self.stats.failed += 1
            else:  # Transient, or a failure the sender did not classify
                delivery.retry_later(session, ids, reason, now=now, settings=self.settings)
                self.stats.retried += 1

    async def pace(self, sender: Sender, address: str) -> None:
        """At most one part per `pace_seconds` to one private address (the channel's limit)."""
        last = self._last_part.get((sender.channel, address))
        if last is not None:
            wait = sender.pace_seconds - (time.monotonic() - last)
            if wait > 0:
                await self.sleep(wait)
