"""The outbox dispatcher: the only code that sends. Drains due rows in order, one at a time.

A row is marked sent in the same transaction that records the Telegram message id, right after
Telegram accepts it; a crash between the two can repeat at most the message in flight.
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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.redact import redact
from bot.render import keyboard, split_text
from bot.services import BotServices
from ledger.context import Actor, WorkContext
from ledger.enums import OPEN_STATUSES, Channel, OutboxStatus, TaskStatus, Via
from ledger.models import Official, Outbox, Task
from ledger.notices import Notice, enrich, render_digest, render_notice, task_params
from ledger.officials import mark_unreachable
from ledger.outbox import claim_due, claim_siblings, notify, record_sent, supervisors_of

log = logging.getLogger(__name__)

# notices about a task that only make sense while it is still open
OPEN_ONLY_KINDS = {"reminder", "escalation", "long_term_request", "nudge"}


@dataclass
class DispatchStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    covered: int = 0


class Dispatcher:
    def __init__(self, bot: Bot, services: BotServices) -> None:
        self.bot = bot
        self.svc = services
        self.cfg = services.settings.telegram
        self._last_private: dict[int, float] = {}
        self.worker = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._stopping = asyncio.Event()
        self.stats = DispatchStats()
        self.sleep = asyncio.sleep  # replaceable so tests need not wait for real

    def stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        """Poll the outbox until stopped; the message in flight is finished first."""
        while not self._stopping.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("dispatch_loop_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.cfg.dispatch_interval)

    async def drain(self, limit: int = 100) -> DispatchStats:
        """Claim and send what is due now (up to `limit` rows); other workers take the rest.

        Up to `concurrent_sends` messages are in flight at once, to different chats; each
        chat's messages go one after another, in order.
        """
        with self.svc.session() as session:
            ids = claim_due(
                session,
                worker=self.worker,
                now=self.svc.clock.now(),
                limit=limit,
                lease=self.cfg.claim_seconds,
                channel=Channel.TELEGRAM,
            )
            lanes: dict[Any, list[int]] = defaultdict(list)  # one lane per chat, in order
            for row_id, recipient_id, chat_id in session.execute(
                sa.select(col(Outbox.id), col(Outbox.recipient_id), col(Outbox.chat_id))
                .where(col(Outbox.id).in_(ids))
                .order_by(col(Outbox.id))
            ):
                lanes[(recipient_id, chat_id)].append(row_id)
        in_flight = asyncio.Semaphore(self.cfg.concurrent_sends)

        async def lane(row_ids: list[int]) -> None:
            for row_id in row_ids:
                if self._stopping.is_set():
                    return
                async with in_flight:
                    await self.send_one(row_id)

        await asyncio.gather(*(lane(row_ids) for row_ids in lanes.values()))
        if self._stopping.is_set():
            self.release(ids)  # not sent: give them back at once rather than on expiry
        return self.stats

    def release(self, ids: list[int]) -> None:
        with self.svc.session() as session:
            session.execute(
                sa.update(Outbox)
                .where(
                    col(Outbox.id).in_(ids),
                    col(Outbox.claimed_by) == self.worker,
                    col(Outbox.status) == OutboxStatus.PENDING,
                )
                .values(claimed_by="", claimed_until=None)
            )
            session.commit()

    async def send_one(self, row_id: int | None) -> None:
        with self.svc.session() as session:
            row = session.get(Outbox, row_id)
            if row is None or row.status != OutboxStatus.PENDING or row.claimed_by != self.worker:
                return  # sent meanwhile, or our claim expired and another worker has it
            recipient = session.get(Official, row.recipient_id) if row.recipient_id else None
            chat_id = recipient.chat_id if recipient else row.chat_id
            if chat_id is None or (recipient is not None and not recipient.reachable):
                # unbound or blocked since it was claimed: it waits until they (re)bind
                self.release([row.id] if row.id is not None else [])
                return
            if row.task_id is not None and row.kind in OPEN_ONLY_KINDS:
                stale = self.stale(session.get(Task, row.task_id), row)
                if stale:
                    row.status, row.last_error = OutboxStatus.COVERED, stale
                    session.add(row)
                    session.commit()
                    self.stats.covered += 1
                    return
            lang = recipient.language if recipient else "zh"
            batch = self.batch_for(session, row)
            if len(batch) > self.svc.settings.policy.digest_threshold:
                notice = render_digest(
                    [{**self.params_of(session, r), "text_key": r.text_key} for r in batch], lang
                )
            else:
                batch = [row]
                notice = render_notice(row.kind, row.text_key, self.params_of(session, row), lang)
        try:
            message = await self.deliver(chat_id, notice, lang, private=recipient is not None)
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            log.warning("dispatch_retry_after row=%s seconds=%s", row_id, seconds)
            await self.sleep(seconds)
            self.stats.retried += 1
            self.release([r.id for r in batch if r.id is not None])
            return  # still pending: the next drain sends it
        except Forbidden as exc:
            self.blocked([r.id for r in batch], self.describe(exc))
            return
        except BadRequest as exc:
            self.finish([r.id for r in batch], OutboxStatus.FAILED, error=self.describe(exc))
            self.stats.failed += 1
            return
        except (NetworkError, TelegramError) as exc:  # timeouts and 5xx are NetworkErrors
            self.retry_later([r.id for r in batch], self.describe(exc))
            return
        self.finish([r.id for r in batch], OutboxStatus.SENT, message=message, chat_id=chat_id)
        self.stats.sent += 1
        log.info(
            "sent rows=%s task=%s official=%s kind=%s message_id=%s",
            ",".join(str(r.id) for r in batch),
            batch[0].task_id,
            batch[0].recipient_id,
            batch[0].kind,
            message.message_id,
        )

    @staticmethod
    def stale(task: Task | None, row: Outbox) -> str:
        """Why a queued task notice should no longer go out ('' if it should)."""
        if task is None or task.status not in OPEN_STATUSES:
            return "task no longer open"
        queued_for = row.params.get("deadline")
        current = task.deadline.isoformat() if task.deadline else ""
        if row.kind == "reminder" and queued_for and queued_for != current:
            return "deadline changed since it was queued"
        return ""

    def params_of(self, session: Session, row: Outbox) -> dict[str, Any]:
        settings = self.svc.settings
        today = self.svc.clock.now().astimezone(settings.zone).date()
        return enrich(
            session, row.task_id, row.params, today=today, yellow_days=settings.policy.yellow_days
        )

    def describe(self, exc: Exception) -> str:
        """The error as stored and logged: its class and message, never the token."""
        text = redact(f"{type(exc).__name__}: {exc}", self.bot.token)
        log.warning("dispatch_error error=%s", text)
        return text

    def batch_for(self, session: Session, row: Outbox) -> list[Outbox]:
        """All pending reminders for this person from the same sweep (a digest if many)."""
        if row.kind != "reminder" or row.sweep_id is None or row.recipient_id is None:
            return [row]
        ids = claim_siblings(
            session, row, worker=self.worker, now=self.svc.clock.now(), lease=self.cfg.claim_seconds
        )
        session.expire_all()
        return list(
            session.exec(select(Outbox).where(col(Outbox.id).in_(ids)).order_by(col(Outbox.id)))
        )

    async def deliver(self, chat_id: int, notice: Notice, lang: str, *, private: bool) -> Message:
        chunks = split_text(notice.text)
        message: Message | None = None
        for index, chunk in enumerate(chunks):
            if private:
                await self.pace(chat_id)
            markup = keyboard(notice.buttons, lang) if index == len(chunks) - 1 else None
            message = await self.bot.send_message(chat_id=chat_id, text=chunk, reply_markup=markup)
        assert message is not None
        return message

    async def pace(self, chat_id: int) -> None:
        """At most one message per second to one private chat (Telegram's limit)."""
        interval = self.cfg.private_chat_interval
        last = self._last_private.get(chat_id)
        if last is not None:
            wait = interval - (time.monotonic() - last)
            if wait > 0:
                await self.sleep(wait)
        self._last_private[chat_id] = time.monotonic()

    def finish(
        self,
        ids: list[Any],
        status: OutboxStatus,
        *,
        error: str = "",
        message: Message | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Record the outcome; a digest's rows point to one task-less marker a reply can find."""
        now = self.svc.clock.now()
        digest = message is not None and len(ids) > 1
        with self.svc.session() as session:
            task_ids: list[int] = []
            recipient_id: int | None = None
            for row_id in ids:
                row = session.get(Outbox, row_id)
                if row is None:
                    continue
                row.status = status
                row.attempts += 1
                row.last_error = error[:500]
                row.claimed_by, row.claimed_until = "", None
                if message is not None:
                    row.chat_id, row.sent_at = chat_id, now
                    if digest:
                        row.params = {**row.params, "digest_message_id": message.message_id}
                    else:
                        row.sent_message_id = message.message_id
                if row.task_id is not None:
                    task_ids.append(row.task_id)
                recipient_id = row.recipient_id
                session.add(row)
            if digest and message is not None and chat_id is not None:
                record_sent(
                    session,
                    kind="digest",
                    chat_id=chat_id,
                    message_id=message.message_id,
                    now=now,
                    recipient_id=recipient_id,
                    task_id=None,
                    params={"digest_task_ids": task_ids},
                )
            session.commit()

    def retry_later(self, ids: list[Any], error: str) -> None:
        now = self.svc.clock.now()
        cfg = self.cfg
        with self.svc.session() as session:
            for row_id in ids:
                row = session.get(Outbox, row_id)
                if row is None:
                    continue
                row.attempts += 1
                row.last_error = error[:500]
                row.claimed_by, row.claimed_until = "", None
                if row.attempts >= cfg.max_attempts:
                    row.status = OutboxStatus.DEAD
                    self.tell_supervisor(session, row, "notice.escalation.dead", error)
                else:
                    row.not_before = now + timedelta(
                        seconds=cfg.retry_base_seconds * 2 ** (row.attempts - 1)
                    )
                    self.stats.retried += 1
                session.add(row)
            session.commit()

    def blocked(self, ids: list[Any], error: str) -> None:
        """The user blocked the bot: unreachable, and the supervisor hears of the item."""
        with self.svc.session() as session:
            ctx = WorkContext(
                session=session,
                now=self.svc.clock.now(),
                actor=Actor(via=Via.SCHEDULER),
                settings=self.svc.settings,
            )
            for row_id in ids:
                row = session.get(Outbox, row_id)
                if row is None:
                    continue
                row.status, row.last_error = OutboxStatus.FAILED, error[:500]
                row.attempts += 1
                row.claimed_by, row.claimed_until = "", None
                session.add(row)
                official = session.get(Official, row.recipient_id) if row.recipient_id else None
                if official is not None:
                    mark_unreachable(ctx, official, error)
                self.tell_supervisor(session, row, "notice.escalation.unreachable", error)
            session.commit()
        self.stats.failed += 1

    def tell_supervisor(self, session: Session, row: Outbox, text_key: str, error: str) -> None:
        if row.task_id is None or row.kind == "escalation":  # never escalate an escalation
            return
        task = session.get(Task, row.task_id)
        if task is None or task.status == TaskStatus.CLOSED:
            return
        official = session.get(Official, row.recipient_id) if row.recipient_id else None
        settings = self.svc.settings
        now = self.svc.clock.now()
        today = now.astimezone(settings.zone).date()
        people = [p for p in supervisors_of(session, row.task_id) if p.id != row.recipient_id]
        notify(
            session,
            recipients=people,
            kind="escalation",
            task_id=row.task_id,
            text_key=text_key,
            now=now,
            zone=settings.zone,
            quiet=None,
            params={
                **task_params(task, today, settings.policy.yellow_days),
                "name": official.name if official else "?",
                "error": error[:100],
            },
        )
