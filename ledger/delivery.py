"""Delivery: what a channel's sender promises, and every state change of an outbox row.

A sender (Telegram today; WeCom, DingTalk, email next) renders a notice within its channel's
limits and sends the parts to an address, raising one of the four failures below. Everything
else — which rows are due, digests, staleness, retries, telling the supervisor, the heartbeat
that lets a dead worker's claims go back — is here, once, for every channel. The loop that
drives senders is `ledger.worker`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from config import Settings
from ledger.contacts import PERSON_CHANNELS, Routing, assign, contact_of, mark_unreachable, route
from ledger.context import Actor, WorkContext
from ledger.enums import (
    OPEN_STATUSES,
    ROBOT_CHANNELS,
    Channel,
    NoticeKind,
    OutboxStatus,
    TaskStatus,
    Via,
)
from ledger.links import owner_links
from ledger.models import DeliveryWorker, GroupSubscription, Official, Outbox, Task
from ledger.notices import Notice, enrich, render_digest, render_notice, task_params
from ledger.outbox import claim_siblings, notify, supervisors_of
from ledger.sent import record_sent

# notices about a task that only make sense while it is still open
OPEN_ONLY_KINDS = {
    NoticeKind.REMINDER,
    NoticeKind.ESCALATION,
    NoticeKind.LONG_TERM_REQUEST,
    NoticeKind.NUDGE,
}
# lists that a newer one to the same person or chat supersedes (it says all this one did)
SUPERSEDED_KINDS = {NoticeKind.PENDING_LIST, NoticeKind.WEEKLY_DIGEST}


# --- the sender protocol -----------------------------------------------------------------
class DeliveryFailure(Exception):
    """A send that did not go through; `reason` is stored and logged (no secrets in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(DeliveryFailure):
    """The channel asks us to wait `retry_after` seconds; not the notice's fault."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        super().__init__(reason or f"rate limited: retry after {retry_after:g} s")
        self.retry_after = retry_after


class Refused(DeliveryFailure):
    """The channel will never take this message as it is (e.g. Telegram's 400)."""


class Unreachable(DeliveryFailure):
    """The address does not take messages from us any more (blocked, deleted, unknown)."""


class Transient(DeliveryFailure):
    """Network, timeout, 5xx: try again later."""


@dataclass(frozen=True)
class Address:
    """Where a notice goes on one channel: a Telegram chat, a userid, a mail address, a robot's
    webhook. `private` addresses (a person, a robot) are paced one part per `pace_seconds`;
    `secret` is a robot's signing secret (never logged)."""

    value: str
    private: bool = True
    secret: str = field(default="", repr=False)


class Sender(Protocol):
    """One channel. `render` keeps within the channel's limits (length, buttons) and returns
    the parts in order; `send` sends one part and returns the channel's message id."""

    channel: Channel
    pace_seconds: float  # at least this long between two parts to one private address

    def render(self, notice: Notice, lang: str) -> Sequence[Any]: ...

    async def send(self, address: Address, part: Any) -> int | str: ...


# --- one delivery, prepared ----------------------------------------------------------------
@dataclass
class Delivery:
    """A claimed row (or a digest of several) ready to send: where, what, and what went out."""

    row_ids: list[int]
    channel: Channel
    address: Address
    notice: Notice
    lang: str
    parts_sent: int
    kind: str
    task_id: int | None
    recipient_id: int | None


def address_of(session: Session, row: Outbox) -> Address | None:
    """The row's address on its channel, or None while its person cannot be reached there."""
    if row.channel is None:
        return None
    if row.recipient_id is None:
        group = session.get(GroupSubscription, row.group_id) if row.group_id else None
        if group is None:
            return None
        if group.channel in ROBOT_CHANNELS:  # a robot: its webhook, paced like a person
            return Address(group.address, private=True, secret=group.secret)
        return Address(group.address, private=False)
    contact = contact_of(session, row.recipient_id, Channel(row.channel))
    if contact is None or not contact.reachable:
        return None
    return Address(contact.address, private=True)


def stale_reason(task: Task | None, row: Outbox) -> str:
    """Why a queued task notice should no longer go out ('' if it should)."""
    if task is None or task.status not in OPEN_STATUSES:
        return "task no longer open"
    queued_for = row.params.get("deadline")
    current = task.deadline.isoformat() if task.deadline else ""
    if row.kind == NoticeKind.REMINDER and queued_for and queued_for != current:
        return "deadline changed since it was queued"
    return ""


def _newer_exists(session: Session, row: Outbox) -> bool:
    """A later list of the same kind for the same person or chat (sent or still due)."""
    same_place = (
        col(Outbox.recipient_id) == row.recipient_id
        if row.recipient_id is not None
        else col(Outbox.group_id) == row.group_id
    )
    newer = select(Outbox.id).where(
        col(Outbox.kind) == row.kind,
        same_place,
        col(Outbox.id) > row.id,
        col(Outbox.status).in_([OutboxStatus.PENDING, OutboxStatus.SENT]),
    )
    return session.exec(newer.limit(1)).first() is not None


def _params(session: Session, row: Outbox, settings: Settings, now: datetime) -> dict[str, Any]:
    today = now.astimezone(settings.zone).date()
    return enrich(
        session,
        row.task_id,
        row.params,
        today=today,
        yellow_days=settings.policy.yellow_days,
        kind=row.kind,
    )


def _batch(
    session: Session, row: Outbox, *, worker: str, now: datetime, lease: float
) -> list[Outbox]:
    """All pending reminders for this person from the same sweep (a digest if many)."""
    if row.kind != "reminder" or row.sweep_id is None or row.recipient_id is None:
        return [row]
    ids = claim_siblings(session, row, worker=worker, now=now, lease=lease)
    session.expire_all()
    return list(
        session.exec(select(Outbox).where(col(Outbox.id).in_(ids)).order_by(col(Outbox.id)))
    )


def prepare(
    session: Session, row_id: int, *, worker: str, now: datetime, settings: Settings
) -> Delivery | None:
    """What to send for a claimed row, or None: not ours any more, stale (covered), or its
    person unreachable since it was claimed (released: it waits until they are back)."""
    row = session.get(Outbox, row_id)
    if row is None or row.status != OutboxStatus.PENDING or row.claimed_by != worker:
        return None  # sent meanwhile, or our claim expired and another worker has it
    address = address_of(session, row)
    if address is None:
        release(session, [row_id], worker=worker)
        return None
    stale = ""
    if row.task_id is not None and row.kind in OPEN_ONLY_KINDS:
        stale = stale_reason(session.get(Task, row.task_id), row)
    elif row.kind in SUPERSEDED_KINDS and _newer_exists(session, row):
        stale = "superseded by a newer one"
    params = {} if stale else _params(session, row, settings, now)
    if not stale and row.kind == "oversight" and params["count"] <= 0:
        stale = "every task in it closed or told again since"
    if stale:
        row.status, row.last_error = OutboxStatus.COVERED, stale
        row.claimed_by, row.claimed_until = "", None
        session.add(row)
        session.commit()
        return None
    recipient = session.get(Official, row.recipient_id) if row.recipient_id else None
    lang = recipient.language if recipient else "zh"
    batch = _batch(session, row, worker=worker, now=now, lease=settings.delivery.claim_seconds)
    # Telegram takes replies; elsewhere (a userid, a mail address, a robot) the link does
    linked = row.channel != Channel.TELEGRAM or (row.recipient_id is None and address.private)
    if len(batch) > settings.policy.digest_threshold:
        items = [{**_params(session, r, settings, now), "text_key": r.text_key} for r in batch]
        notice = render_digest(items, lang, linked=linked)
    else:
        batch = [row]
        notice = render_notice(row.kind, row.text_key, params, lang, linked=linked)
    if recipient is not None and recipient.id is not None:
        task_ids = [r.task_id for r in batch if r.task_id is not None]
        notice.links = owner_links(session, settings, recipient.id, task_ids, now)
    assert row.channel is not None
    return Delivery(
        row_ids=[r.id for r in batch if r.id is not None],
        channel=Channel(row.channel),
        address=address,
        notice=replace(notice, ref=str(row.id)),
        lang=lang,
        parts_sent=min(r.parts_sent for r in batch),
        kind=row.kind,
        task_id=row.task_id,
        recipient_id=row.recipient_id,
    )


# --- transitions ---------------------------------------------------------------------------
def _rows(session: Session, ids: Sequence[int]) -> list[Outbox]:
    return list(
        session.exec(select(Outbox).where(col(Outbox.id).in_(list(ids))).order_by(col(Outbox.id)))
    )


def _attempted(session: Session, ids: Sequence[int], reason: str) -> list[Outbox]:
    """The rows of a failed attempt: counted, the reason kept, the claim given up."""
    rows = _rows(session, ids)
    for row in rows:
        row.attempts += 1
        row.last_error = reason[:500]
        row.claimed_by, row.claimed_until = "", None
        session.add(row)
    return rows


def release(
    session: Session, ids: Sequence[int], *, worker: str, not_before: datetime | None = None
) -> None:
    """Give claimed rows back at once (stopping, waiting on a rate limit, recipient gone)."""
    if not ids:
        return
    values: dict[str, Any] = {"claimed_by": "", "claimed_until": None}
    if not_before is not None:
        values["not_before"] = not_before
    session.execute(
        sa.update(Outbox)
        .where(
            col(Outbox.id).in_(list(ids)),
            col(Outbox.claimed_by) == worker,
            col(Outbox.status) == OutboxStatus.PENDING,
        )
        .values(**values)
    )
    session.commit()


def part_accepted(session: Session, ids: Sequence[int], parts_sent: int) -> None:
    """A part of a long notice went out: a retry resumes after it, never repeats it."""
    session.execute(
        sa.update(Outbox).where(col(Outbox.id).in_(list(ids))).values(parts_sent=parts_sent)
    )
    session.commit()


def mark_sent(
    session: Session,
    delivery: Delivery,
    *,
    message_id: int | str,
    parts: int,
    now: datetime,
) -> None:
    """Sent: one short transaction right after the channel accepted the last part, and the
    message recorded for reply threading (a digest's lists its tasks)."""
    digest = len(delivery.row_ids) > 1
    task_ids: list[int] = []
    for row in _rows(session, delivery.row_ids):
        row.status = OutboxStatus.SENT
        row.attempts += 1
        row.last_error = ""
        row.parts_sent = parts
        row.failing_since = None
        row.claimed_by, row.claimed_until = "", None
        row.sent_at = now
        if row.task_id is not None:
            task_ids.append(row.task_id)
        session.add(row)
    record_sent(
        session,
        channel=delivery.channel,
        address=delivery.address.value,
        message_id=message_id,
        kind=NoticeKind.DIGEST if digest else delivery.kind,
        now=now,
        recipient_id=delivery.recipient_id,
        task_id=None if digest else delivery.task_id,
        outbox_id=delivery.row_ids[0],
        params={"digest_task_ids": task_ids} if digest else {},
    )
    session.commit()


def mark_refused(
    session: Session, ids: Sequence[int], reason: str, *, now: datetime, settings: Settings
) -> None:
    """A refusal is final for this text, but not a loss: the supervisor hears of the item."""
    for row in _attempted(session, ids, reason):
        row.status = OutboxStatus.FAILED
        tell_supervisor(
            session, row, "notice.escalation.refused", reason, now=now, settings=settings
        )
    session.commit()


def mark_blocked(
    session: Session,
    ids: Sequence[int],
    reason: str,
    *,
    now: datetime,
    settings: Settings,
    running: Sequence[Channel] = PERSON_CHANNELS,
) -> None:
    """The channel refused the person's contact: it becomes unreachable and their notices move
    to the next contact they can be reached on (of the channels `running`). Only when none is
    left do they wait (pending) until the person is back, and the supervisor hears of the item."""
    ctx = WorkContext(session=session, now=now, actor=Actor(via=Via.SCHEDULER), settings=settings)
    routing = Routing.of(settings.delivery.channels(), running)
    for row in _attempted(session, ids, reason):
        contact = (
            contact_of(session, row.recipient_id, Channel(row.channel))
            if row.recipient_id and row.channel
            else None
        )
        if contact is not None:
            mark_unreachable(ctx, contact, reason)
            session.flush()
            if route(session, contact.official_id, routing) is not None:
                continue  # another contact reaches them: `assign` moves the notice there
        elif row.recipient_id is None:  # a group chat that removed the bot: nobody to wait for
            row.status = OutboxStatus.FAILED
        tell_supervisor(
            session, row, "notice.escalation.unreachable", reason, now=now, settings=settings
        )
    session.commit()
    people = {r.recipient_id for r in _rows(session, ids) if r.recipient_id is not None}
    assign(session, routing, people)


def retry_later(
    session: Session, ids: Sequence[int], reason: str, *, now: datetime, settings: Settings
) -> None:
    """A transient failure never ends a notice: back off (doubling, up to a cap) and keep
    trying while it matters; once it has failed for `give_up_hours` the supervisor is told."""
    cfg = settings.delivery
    for row in _attempted(session, ids, reason):
        if row.failing_since is None:
            row.failing_since = now
        delay = min(cfg.retry_base_seconds * 2 ** min(row.attempts - 1, 30), cfg.retry_cap_seconds)
        row.not_before = now + timedelta(seconds=delay)
        failing_for = now - row.failing_since
        if failing_for >= timedelta(hours=cfg.give_up_hours) and not row.params.get("gave_up"):
            row.params = {**row.params, "gave_up": now.isoformat()}
            tell_supervisor(
                session, row, "notice.escalation.dead", reason, now=now, settings=settings
            )
        session.add(row)
    session.commit()


def tell_supervisor(
    session: Session, row: Outbox, text_key: str, error: str, *, now: datetime, settings: Settings
) -> None:
    """Who is told when a person cannot be reached: the task's 督办人 (never for an escalation,
    nor for a closed task)."""
    if row.task_id is None or row.kind == NoticeKind.ESCALATION:
        return
    task = session.get(Task, row.task_id)
    if task is None or task.status == TaskStatus.CLOSED:
        return
    official = session.get(Official, row.recipient_id) if row.recipient_id else None
    today = now.astimezone(settings.zone).date()
    people = [p for p in supervisors_of(session, row.task_id) if p.id != row.recipient_id]
    notify(
        session,
        recipients=people,
        kind=NoticeKind.ESCALATION,
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


def refused_counts(session: Session) -> dict[int, int]:
    """How many notices each person's channel refused (shown by `ledgerbot officials`)."""
    stmt = (
        sa.select(col(Outbox.recipient_id), sa.func.count())
        .where(col(Outbox.status) == OutboxStatus.FAILED, col(Outbox.recipient_id).is_not(None))
        .group_by(col(Outbox.recipient_id))
    )
    return {int(official_id): int(n) for official_id, n in session.execute(stmt)}


# --- heartbeats --------------------------------------------------------------------------
def beat(session: Session, worker: str, now: datetime) -> None:
    """This worker is alive (its row is created on the first beat)."""
    row = session.get(DeliveryWorker, worker)
    if row is None:
        row = DeliveryWorker(name=worker, started_at=now, beat_at=now)
    row.beat_at = now
    session.add(row)
    session.commit()


def retire(session: Session, worker: str) -> None:
    """A worker that stops cleanly: its row goes, and whatever it still held goes back."""
    session.execute(
        sa.update(Outbox)
        .where(col(Outbox.claimed_by) == worker, col(Outbox.status) == OutboxStatus.PENDING)
        .values(claimed_by="", claimed_until=None)
    )
    session.execute(sa.delete(DeliveryWorker).where(col(DeliveryWorker.name) == worker))
    session.commit()


def release_orphans(
    session: Session, *, worker: str, now: datetime, silent_after: float, alone: bool
) -> int:
    """Release the claims of workers that are gone: those whose heartbeat is older than
    `silent_after` seconds, or — when `alone` (SQLite: one process per file, at start) —
    every claim not this worker's. Returns how many rows came back."""
    if alone:
        holder = col(Outbox.claimed_by) != worker
        gone = select(DeliveryWorker.name).where(col(DeliveryWorker.name) != worker)
    else:
        gone = select(DeliveryWorker.name).where(
            col(DeliveryWorker.beat_at) < now - timedelta(seconds=silent_after)
        )
        holder = col(Outbox.claimed_by).in_(gone)
    result: Any = session.execute(
        sa.update(Outbox)
        .where(holder, col(Outbox.claimed_by) != "", col(Outbox.status) == OutboxStatus.PENDING)
        .values(claimed_by="", claimed_until=None),
        execution_options={"preserve_rowcount": True},
    )
    session.execute(sa.delete(DeliveryWorker).where(col(DeliveryWorker.name).in_(gone)))
    session.commit()
    return max(result.rowcount or 0, 0)
