"""Contacts: how a person is reached, one address per channel, and where a notice is routed.

A person is *bound* when they have a reachable contact; which channel a notice goes out on is
decided when it is queued (`route`): the preferred reachable contact, else the first reachable
one in `Channel` order (`routes`: everyone at once, for a statement queueing many rows). The
delivery worker's drains (`assign`) put what waits on the deployment's order
(`delivery.channel_order`), kept to the channels whose sender runs; a refused contact is
unreachable and the notices move to the next reachable one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger import audit
from ledger.context import WorkContext
from ledger.db import scratch
from ledger.enums import Channel, OutboxStatus
from ledger.errors import InvalidInput
from ledger.i18n import register
from ledger.models import Contact, Official, Outbox

# channels a notice to a person can go on (a mobile number is for robots' @-mentions)
PERSON_CHANNELS = (Channel.TELEGRAM, Channel.WECOM, Channel.DINGTALK, Channel.EMAIL)

register(
    "zh",
    {
        "error.prefer_bad": "--prefer 只能是 {choices} 之一。",
        "error.prefer_missing": "{name} 没有可用的 {channel} 联系方式，不能设为优先渠道。",
    },
)
register(
    "en",
    {
        "error.prefer_bad": "--prefer must be one of {choices}.",
        "error.prefer_missing": "{name} has no usable {channel} contact to prefer.",
    },
)

_FORMATS: dict[Channel, re.Pattern[str]] = {
    Channel.TELEGRAM: re.compile(r"-?[0-9]{1,20}"),
    Channel.WECOM: re.compile(r"[A-Za-z0-9_.@-]{1,64}"),
    Channel.DINGTALK: re.compile(r"[A-Za-z0-9_.@$-]{1,64}"),
    Channel.EMAIL: re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}"),
    Channel.MOBILE: re.compile(r"(\+?[0-9]{6,15})"),
}


def normalise(channel: Channel, address: str) -> str:
    """The address as stored, or InvalidInput naming the channel and what was wrong."""
    value = address.strip()
    if channel == Channel.EMAIL:
        value = value.lower()
    elif channel == Channel.MOBILE:
        value = re.sub(r"[\s-]", "", value)
    if not value or len(value) > 200 or not _FORMATS[channel].fullmatch(value):
        raise InvalidInput("error.contact_address", channel=channel.value, address=address)
    return value


def contact_of(session: Session, official_id: int, channel: Channel) -> Contact | None:
    return session.exec(
        select(Contact).where(Contact.official_id == official_id, Contact.channel == channel)
    ).first()


def contacts_of(session: Session, official_id: int) -> list[Contact]:
    order = {c: i for i, c in enumerate(Channel)}
    found = session.exec(select(Contact).where(Contact.official_id == official_id)).all()
    return sorted(found, key=lambda c: order[Channel(c.channel)])


def contacts_by_official(session: Session) -> dict[int, list[Contact]]:
    """Everyone's contacts, each person's in `Channel` order."""
    order = {c: i for i, c in enumerate(Channel)}
    found: dict[int, list[Contact]] = {}
    for contact in session.exec(select(Contact)):
        found.setdefault(contact.official_id, []).append(contact)
    return {k: sorted(v, key=lambda c: order[Channel(c.channel)]) for k, v in found.items()}


def holder(session: Session, channel: Channel, address: str) -> Official | None:
    """The person whose contact on `channel` is `address`."""
    return session.exec(
        select(Official)
        .join(Contact, col(Contact.official_id) == col(Official.id))
        .where(Contact.channel == channel, Contact.address == address)
    ).first()


@dataclass(frozen=True)
class Routing:
    """The channels a deployment routes to, in order: `delivery.channel_order`, kept to the
    channels whose sender runs. `ALL` (every channel a notice can go on, `Channel` order; a
    mobile number only serves robots' @-mentions) is the default."""

    order: tuple[Channel, ...]

    @classmethod
    def of(cls, configured: Iterable[str], running: Iterable[Channel]) -> Routing:
        live = set(running)
        return cls(tuple(Channel(c) for c in configured if Channel(c) in live))


ALL = Routing(PERSON_CHANNELS)


def _reachable(routing: Routing) -> list[Any]:
    return [col(Contact.reachable).is_(True), col(Contact.channel).in_(routing.order)]


def _best_first(routing: Routing) -> list[Any]:
    """The order a person's reachable contacts are tried in: the preferred one, then
    `routing`'s order. The one routing rule, for one person or everyone at once."""
    ranks = {c.value: i for i, c in enumerate(routing.order)}
    order = sa.case(ranks, value=col(Contact.channel)) if ranks else sa.literal(0)
    return [col(Contact.preferred).desc(), order]


def _routing(official_id: Any, routing: Routing = ALL) -> Any:
    """The person's reachable contacts on `routing`'s channels, best first."""
    return (
        select(Contact)
        .where(col(Contact.official_id) == official_id, *_reachable(routing))
        .order_by(*_best_first(routing))
    )


def routed_channel(official_id: Any, routing: Routing = ALL) -> Any:
    """SQL: the channel a notice to `official_id` (a column or a value) is routed to when it
    is queued; NULL while the person has no reachable contact."""
    return (
        _routing(official_id, routing)
        .with_only_columns(col(Contact.channel))
        .limit(1)
        .scalar_subquery()
    )


ROUTES = sa.Table(
    "notice_route",
    sa.MetaData(),
    sa.Column("official_id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(20)),
    prefixes=["TEMPORARY"],
)


def routes(session: Session, routing: Routing = ALL) -> sa.Table:
    """`routed_channel` for everyone at once, as a temporary table (official_id, channel) of
    this connection: a statement queueing many rows joins it instead of looking up each
    row's contacts (1M reminders: 0.1 s to fill instead of 1.3 s of lookups). Refilled by
    each call, so it is as fresh as the statement that uses it."""
    best = sa.func.row_number().over(
        partition_by=col(Contact.official_id), order_by=_best_first(routing)
    )
    ranked = (
        sa.select(col(Contact.official_id), col(Contact.channel), best.label("rank"))
        .where(*_reachable(routing))
        .subquery("ranked")
    )
    best_only = sa.select(ranked.c.official_id, ranked.c.channel).where(ranked.c.rank == 1)
    scratch(session, ROUTES, best_only, ["official_id", "channel"])
    return ROUTES


def route(session: Session, official_id: int, routing: Routing = ALL) -> Contact | None:
    """Where a notice to this person goes now: None when they have no reachable contact."""
    return session.exec(_routing(official_id, routing).limit(1)).first()


def assign(
    session: Session,
    routing: Routing,
    official_ids: Iterable[int] | None = None,
    *,
    after_id: int = 0,
) -> int:
    """Each drain: put every pending, unclaimed notice to a person on that person's channel in
    this deployment's `routing` (notices nobody can reach there stay where they are, waiting);
    only rows after `after_id` if given (those queued since the last pass). Returns how many
    rows moved."""
    target = routed_channel(col(Outbox.recipient_id), routing)
    status: Any = col(Outbox.status)
    if after_id:  # an expression: SQLite (no statistics) would walk the status index over
        status = sa.func.coalesce(status, "")  # every pending row, not the new rows by id
    stmt = (
        sa.update(Outbox)
        .where(
            status == OutboxStatus.PENDING.value,
            col(Outbox.recipient_id).is_not(None),
            col(Outbox.claimed_by) == "",
            target.is_not(None),
            sa.or_(col(Outbox.channel).is_(None), col(Outbox.channel) != target),
        )
        .values(channel=target)
    )
    if official_ids is not None:
        stmt = stmt.where(col(Outbox.recipient_id).in_(list(official_ids)))
    if after_id:
        stmt = stmt.where(col(Outbox.id) > after_id)
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    session.commit()
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def bound(official_id: Any) -> Any:
    """SQL: the person has a reachable contact (is "bound")."""
    return sa.exists(_routing(official_id).with_only_columns(col(Contact.id)))


def reroute(session: Session, official_id: int) -> None:
    """After a person's contacts changed: their waiting notices go to where they are reached
    now (a notice with nowhere better keeps its channel and waits there)."""
    session.execute(
        sa.update(Outbox)
        .where(
            col(Outbox.recipient_id) == official_id,
            col(Outbox.status) == OutboxStatus.PENDING,
        )
        .values(channel=sa.func.coalesce(routed_channel(official_id), col(Outbox.channel)))
    )


def mark_unreachable(ctx: WorkContext, contact: Contact, reason: str) -> None:
    """The channel says the person blocked us or is gone: this contact is unreachable (their
    notices move to another reachable contact, else wait here until they are back)."""
    if contact.reachable:
        _set_reachable(ctx, contact, False, reason=reason)


def returned(ctx: WorkContext, channel: Channel, address: str) -> int:
    """Someone marked unreachable wrote to us: reachable again, and what waited for them
    (their pending notices) is due at once. Returns how many notices waited (0 if none, or if
    they were reachable all along: one cheap query for every update). The notices keep their
    send times (quiet hours still apply)."""
    contact = ctx.session.exec(
        select(Contact).where(
            Contact.channel == channel,
            Contact.address == address,
            col(Contact.reachable).is_(False),
        )
    ).first()
    if contact is None:
        return 0
    _set_reachable(ctx, contact, True)
    waiting = ctx.session.exec(
        select(Outbox).where(
            Outbox.recipient_id == contact.official_id, Outbox.status == OutboxStatus.PENDING
        )
    ).all()
    for row in waiting:  # nothing of theirs was in flight: what waited is free for any worker
        row.claimed_by, row.claimed_until = "", None
        ctx.session.add(row)
    return len(waiting)


def _set_reachable(ctx: WorkContext, contact: Contact, value: bool, *, reason: str = "") -> None:
    contact.reachable = value
    ctx.session.add(contact)
    ctx.session.flush()
    after: dict[str, object] = {"channel": contact.channel, "reachable": value}
    if reason:
        after["reason"] = reason
    audit.record(
        ctx,
        "reachable" if value else "unreachable",
        official_id=contact.official_id,
        before={"reachable": not value},
        after=after,
    )
    reroute(ctx.session, contact.official_id)


def set_contact(
    ctx: WorkContext,
    official: Official,
    channel: Channel,
    address: str,
    *,
    prefer: bool = False,
) -> Contact:
    """Give `official` this address on `channel` (replacing their earlier one there), reachable.
    An address already held by someone else is refused (InvalidInput), and nothing changes.
    `prefer` makes it the contact notices go to first."""
    assert official.id is not None
    value = normalise(Channel(channel), address)
    other = holder(ctx.session, channel, value)
    if other is not None and other.id != official.id:
        raise InvalidInput(
            "error.contact_taken", channel=channel.value, address=value, name=other.name
        )
    contact = contact_of(ctx.session, official.id, channel)
    before = audit.snapshot(contact, _AUDITED) if contact else None
    if contact is None:
        contact = Contact(official_id=official.id, channel=channel, address=value, bound_at=ctx.now)
    elif contact.address != value:
        contact.address, contact.bound_at = value, ctx.now
    contact.reachable = True
    if prefer:
        for other_contact in contacts_of(ctx.session, official.id):
            if other_contact.preferred and other_contact.channel != channel:
                other_contact.preferred = False
                ctx.session.add(other_contact)
        contact.preferred = True
    ctx.session.add(contact)
    ctx.session.flush()
    audit.record(
        ctx,
        "contact",
        official_id=official.id,
        before=before,
        after=audit.snapshot(contact, _AUDITED),
    )
    reroute(ctx.session, official.id)
    return contact


def clear_contact(ctx: WorkContext, official: Official, channel: Channel) -> None:
    """Remove `official`'s contact on `channel` (if any); what waited for it is routed anew."""
    assert official.id is not None
    contact = contact_of(ctx.session, official.id, channel)
    if contact is None:
        return
    before = audit.snapshot(contact, _AUDITED)
    ctx.session.delete(contact)
    ctx.session.flush()
    audit.record(ctx, "contact", official_id=official.id, before=before, after=None)
    reroute(ctx.session, official.id)


def prefer(ctx: WorkContext, official: Official, channel: str) -> None:
    """`officials set NAME --prefer CHANNEL`: that contact first ('' back to the order)."""
    choices = [c.value for c in PERSON_CHANNELS]
    if channel and channel not in choices:
        raise InvalidInput("error.prefer_bad", choices=", ".join(choices))
    assert official.id is not None
    if not channel:
        for contact in contacts_of(ctx.session, official.id):
            if contact.preferred:
                contact.preferred = False
                ctx.session.add(contact)
                audit.record(
                    ctx,
                    "contact",
                    official_id=official.id,
                    before={"channel": contact.channel, "preferred": True},
                    after={"channel": contact.channel, "preferred": False},
                )
        ctx.session.flush()
        reroute(ctx.session, official.id)
        return
    found = contact_of(ctx.session, official.id, Channel(channel))
    if found is None or not found.reachable:
        raise InvalidInput("error.prefer_missing", name=official.name, channel=channel)
    if not found.preferred:
        set_contact(ctx, official, Channel(channel), found.address, prefer=True)


_AUDITED = ("channel", "address", "reachable", "preferred")
