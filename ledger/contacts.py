"""Contacts: how a person is reached, one address per channel, and where a notice is routed.

A person is *bound* when they have a reachable contact; which channel a notice goes out on is
decided when it is queued (`route`): the preferred reachable contact, else the first reachable
one in `Channel` order.
"""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from ledger import audit
from ledger.context import WorkContext
from ledger.enums import Channel
from ledger.errors import InvalidInput
from ledger.models import Contact, Official

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


def holder(session: Session, channel: Channel, address: str) -> Official | None:
    """The person whose contact on `channel` is `address`."""
    return session.exec(
        select(Official)
        .join(Contact, col(Contact.official_id) == col(Official.id))
        .where(Contact.channel == channel, Contact.address == address)
    ).first()


def route(session: Session, official_id: int) -> Contact | None:
    """Where a notice to this person goes now: None when they have no reachable contact."""
    reachable = [c for c in contacts_of(session, official_id) if c.reachable]
    preferred = [c for c in reachable if c.preferred]
    found = preferred or reachable
    return found[0] if found else None


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
    return contact


_AUDITED = ("channel", "address", "reachable", "preferred")
