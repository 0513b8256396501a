"""Group chats (e.g. the 领导小组's): subscribed to the weekly digest and the red list."""

from __future__ import annotations

from sqlmodel import select

from ledger import audit
from ledger.contacts import normalise
from ledger.context import WorkContext
from ledger.enums import GROUP_ROLES, Channel
from ledger.errors import NotAllowed
from ledger.i18n import render
from ledger.models import GroupSubscription


def subscribe(
    ctx: WorkContext, channel: Channel, address: str, *, title: str = ""
) -> tuple[GroupSubscription, bool]:
    """Subscribe the group at `address` on `channel` (once); supervisors and admins only.
    Returns the subscription and whether it is new."""
    official = ctx.actor.official
    if not ctx.actor.is_operator and (official is None or official.role not in GROUP_ROLES):
        roles = "、".join(render(f"orole.{r}", ctx.actor.lang) for r in GROUP_ROLES)
        raise NotAllowed(why=render("why.needs_role", ctx.actor.lang, roles=roles))
    value = normalise(channel, address)
    found = ctx.session.exec(
        select(GroupSubscription).where(
            GroupSubscription.channel == channel, GroupSubscription.address == value
        )
    ).first()
    if found is not None:
        return found, False
    group = GroupSubscription(
        channel=channel,
        address=value,
        title=title[:200],
        subscribed_by_id=ctx.actor.official_id,
        created_at=ctx.now,
    )
    ctx.session.add(group)
    ctx.session.flush()
    audit.record(ctx, "subscribe", after={"group_id": group.id, "channel": channel})
    return group, True
