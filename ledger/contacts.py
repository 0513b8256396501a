"""Where each person can be reached, and which channel a notice to them goes on.

Telegram's contact is the official's bound chat (`Official.chat_id`, `reachable`); every other
channel's is a `Contact` row. A notice goes on the first channel of the person's preference,
then `delivery.channel_order`, on which they have a reachable contact and which this
deployment runs; a refused contact is marked unreachable and their waiting notices move to
the next one. Only when none is left is the person unreachable (and the supervisor told).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger import audit
from ledger.context import WorkContext
from ledger.enums import Channel, OutboxStatus
from ledger.errors import InvalidInput
from ledger.i18n import register
from ledger.models import ChannelPreference, Contact, Official, Outbox

# channels a notice can go on (a mobile number is only for robots' @-mentions)
PERSON_CHANNELS = (Channel.TELEGRAM, Channel.WECOM, Channel.DINGTALK, Channel.EMAIL)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^\+?\d{6,15}$")
_USERID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")

register(
    "zh",
    {
        "error.contact_bad": "{channel} 地址“{address}”格式不对：{why}",
        "error.prefer_bad": "--prefer 只能是 {choices} 之一。",
        "error.prefer_missing": "{name} 没有可用的 {channel} 联系方式，不能设为优先渠道。",
    },
)
register(
    "en",
    {
        "error.contact_bad": "{channel} address “{address}” is malformed: {why}",
        "error.prefer_bad": "--prefer must be one of {choices}.",
        "error.prefer_missing": "{name} has no usable {channel} contact to prefer.",
    },
)


def check_address(channel: Channel, address: str) -> str:
    value = address.strip()
    if channel == Channel.EMAIL:
        ok, why = bool(_EMAIL.match(value)), "expected name@example.gov.cn"
    elif channel == Channel.MOBILE:
        value = value.replace(" ", "").replace("-", "")
        ok, why = bool(_MOBILE.match(value)), "expected digits, e.g. 13800138000"
    else:
        ok, why = bool(_USERID.match(value)), "expected the userid (letters, digits, _ . @ -)"
    if not ok:
        raise InvalidInput("error.contact_bad", channel=channel.value, address=address, why=why)
    return value


def set_contact(ctx: WorkContext, official: Official, channel: Channel, address: str) -> Contact:
    """Set (or clear, with '') a person's address on a channel; a new address is reachable
    again, and what waited for them is routed anew."""
    if channel == Channel.TELEGRAM:
        raise ValueError("a Telegram contact is made by redeeming an invite")
    assert official.id is not None
    existing = ctx.session.get(Contact, (official.id, channel))
    before = {"address": existing.address, "reachable": existing.reachable} if existing else {}
    if not address.strip():
        if existing is not None:
            ctx.session.delete(existing)
            audit.record(
                ctx, f"contact_{channel.value}", official_id=official.id, before=before, after={}
            )
        return Contact(official_id=official.id, channel=channel, address="")
    value = check_address(channel, address)
    contact = existing or Contact(official_id=official.id, channel=channel, address=value)
    if existing is not None and existing.address == value and existing.reachable:
        return existing
    contact.address, contact.reachable, contact.refused_reason = value, True, ""
    contact.updated_at = ctx.now
    ctx.session.add(contact)
    audit.record(
        ctx,
        f"contact_{channel.value}",
        official_id=official.id,
        before=before,
        after={"address": value, "reachable": True},
    )
    return contact


def set_preference(ctx: WorkContext, official: Official, channel: str) -> None:
    """Put one channel first for this person ('' goes back to the configured order)."""
    choices = [c.value for c in PERSON_CHANNELS]
    if channel and channel not in choices:
        raise InvalidInput("error.prefer_bad", choices=", ".join(choices))
    assert official.id is not None
    existing = ctx.session.get(ChannelPreference, official.id)
    before = existing.channel if existing else ""
    if before == channel:
        return
    if existing is not None:
        ctx.session.delete(existing)
        ctx.session.flush()
    if channel:
        ctx.session.add(ChannelPreference(official_id=official.id, channel=Channel(channel)))
    audit.record(
        ctx,
        "prefer_channel",
        official_id=official.id,
        before={"prefer": before},
        after={"prefer": channel},
    )


def preferences(session: Session, official_ids: Iterable[int]) -> dict[int, Channel]:
    ids = list(official_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(ChannelPreference).where(col(ChannelPreference.official_id).in_(ids))
    )
    return {r.official_id: Channel(r.channel) for r in rows}


def contacts_of(session: Session, official_ids: Iterable[int]) -> dict[int, dict[Channel, Contact]]:
    ids = list(official_ids)
    found: dict[int, dict[Channel, Contact]] = {i: {} for i in ids}
    if ids:
        for contact in session.exec(select(Contact).where(col(Contact.official_id).in_(ids))):
            found[contact.official_id][Channel(contact.channel)] = contact
    return found


def reachable_on(official: Official, contacts: dict[Channel, Contact], channel: Channel) -> bool:
    if channel == Channel.TELEGRAM:
        return official.chat_id is not None and official.reachable
    contact = contacts.get(channel)
    return contact is not None and contact.reachable


def route(
    official: Official,
    contacts: dict[Channel, Contact],
    order: Sequence[Channel],
    prefer: Channel | None = None,
) -> Channel | None:
    """The channel this person's next notice goes on, or None when none can reach them."""
    for channel in [*([prefer] if prefer else []), *order]:
        if channel in order and reachable_on(official, contacts, channel):
            return channel
    return None


@dataclass(frozen=True)
class Routing:
    """The order of channels a deployment uses: the configured order, kept to the channels
    whose sender runs."""

    order: tuple[Channel, ...]

    @classmethod
    def of(cls, configured: Iterable[str], running: Iterable[Channel]) -> Routing:
        live = set(running)
        return cls(tuple(Channel(c) for c in configured if Channel(c) in live))


def assign(session: Session, routing: Routing, official_ids: Iterable[int] | None = None) -> int:
    """Put each pending, unclaimed notice to a person on that person's current channel (the
    ones nobody can reach stay where they are, waiting). Only people with a notice on another
    channel than their route are updated. Returns how many rows moved."""
    stmt = (
        sa.select(col(Outbox.recipient_id), col(Outbox.channel))
        .where(
            col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.recipient_id).is_not(None),
            col(Outbox.claimed_by) == "",
        )
        .distinct()
    )
    if official_ids is not None:
        stmt = stmt.where(col(Outbox.recipient_id).in_(list(official_ids)))
    waiting: dict[int, set[str]] = {}
    for official_id, channel in session.execute(stmt):
        waiting.setdefault(int(official_id), set()).add(str(channel))
    if not waiting:
        return 0
    ids = list(waiting)
    people = {o.id: o for o in session.exec(select(Official).where(col(Official.id).in_(ids)))}
    contacts = contacts_of(session, ids)
    prefer = preferences(session, ids)
    moved = 0
    for official_id, channels in waiting.items():
        channel = route(
            people[official_id], contacts[official_id], routing.order, prefer.get(official_id)
        )
        if channel is None or channels == {channel.value}:
            continue
        result = session.execute(
            sa.update(Outbox)
            .where(
                col(Outbox.recipient_id) == official_id,
                col(Outbox.status) == OutboxStatus.PENDING,
                col(Outbox.channel) != channel,
                col(Outbox.claimed_by) == "",
            )
            .values(channel=channel),
            execution_options={"preserve_rowcount": True},
        )
        moved += max(int(getattr(result, "rowcount", 0) or 0), 0)
    session.commit()
    return moved


def refuse(ctx: WorkContext, official: Official, channel: Channel, reason: str) -> None:
    """The channel refused this person's contact: unreachable there until it is set again."""
    if channel == Channel.TELEGRAM:
        from ledger.officials import mark_unreachable

        mark_unreachable(ctx, official, reason)
        return
    assert official.id is not None
    contact = ctx.session.get(Contact, (official.id, channel))
    if contact is None or not contact.reachable:
        return
    contact.reachable, contact.refused_reason = False, reason[:300]
    contact.updated_at = ctx.now
    ctx.session.add(contact)
    audit.record(
        ctx,
        f"contact_{channel.value}",
        official_id=official.id,
        before={"reachable": True},
        after={"reachable": False, "reason": reason[:100]},
    )


def route_of(session: Session, official: Official, routing: Routing) -> Channel | None:
    """One person's channel now (what `ledgerbot officials` shows as in use)."""
    assert official.id is not None
    return route(
        official,
        contacts_of(session, [official.id])[official.id],
        routing.order,
        preferences(session, [official.id]).get(official.id),
    )
