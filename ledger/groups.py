"""Group chats that receive the weekly digest and the red list: Telegram groups (`/subscribe`)
and group robots (`ledgerbot groups add`): WeCom 群机器人, DingTalk and Feishu custom robots.

A robot's webhook (and its signing secret) is a credential: it is stored, never shown whole,
never logged. A robot's group is a `GroupSubscription` like any other (its address is the
webhook), so the sweep queues to it as to any subscribed group and the delivery worker routes it
by its channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger import audit
from ledger.contacts import normalise
from ledger.context import WorkContext
from ledger.enums import GROUP_ROLES, ROBOT_CHANNELS, Channel, OutboxStatus
from ledger.errors import InvalidInput, NotAllowed
from ledger.i18n import register, render
from ledger.models import GroupSubscription, Outbox

# what each robot's webhook looks like (path and query), to refuse a URL pasted in the wrong option
WEBHOOK_SHAPES = {
    Channel.WECOM_ROBOT: ("/cgi-bin/webhook/send", "key="),
    Channel.DINGTALK_ROBOT: ("/robot/send", "access_token="),
    Channel.FEISHU_ROBOT: ("/open-apis/bot/v2/hook/", ""),
}

register(
    "zh",
    {
        "error.group_name": "群名称不能为空，且不超过100个字符。",
        "error.group_exists": "已有名为“{name}”的群。",
        "error.group_unknown": "找不到名为“{name}”的群（`ledgerbot groups` 列出全部）。",
        "error.group_webhook": "{option} 不是该机器人的 Webhook 地址：{why}",
        "error.group_secret": "{option} 只能与钉钉或飞书机器人一起使用。",
    },
)
register(
    "en",
    {
        "error.group_name": "A group name must not be empty nor longer than 100 characters.",
        "error.group_exists": "There is already a group named “{name}”.",
        "error.group_unknown": "No group named “{name}” (`ledgerbot groups` lists them).",
        "error.group_webhook": "{option} is not this robot's webhook address: {why}",
        "error.group_secret": "{option} goes only with a DingTalk or Feishu robot.",
    },
)


def check_webhook(channel: Channel, url: str, option: str) -> str:
    """The webhook as given, or a clear refusal naming the option and what is wrong."""
    parts = urlsplit(url.strip())
    path, query = WEBHOOK_SHAPES[channel]
    if parts.scheme not in ("https", "http") or not parts.hostname:
        why = "expected an https:// address"
    elif not parts.path.startswith(path) or (query and query not in parts.query):
        why = f"expected …{path}{'?' + query + '…' if query else '…'}"
    elif channel == Channel.FEISHU_ROBOT and not parts.path[len(path) :].strip("/"):
        why = f"expected …{path}TOKEN"
    else:
        return url.strip()
    raise InvalidInput("error.group_webhook", option=option, why=why)


def masked(url: str) -> str:
    """A webhook as shown: host and path, its key or token cut to the first four characters."""
    parts = urlsplit(url)
    if parts.query:
        name, _, value = parts.query.partition("&")[0].partition("=")
        return f"{parts.scheme}://{parts.hostname}{parts.path}?{name}={value[:4]}…"
    head, _, token = parts.path.rpartition("/")
    return f"{parts.scheme}://{parts.hostname}{head}/{token[:4]}…"


def find_group(session: Session, name: str) -> GroupSubscription | None:
    return session.exec(
        select(GroupSubscription).where(col(GroupSubscription.name) == name.strip())
    ).first()


def add_robot(
    ctx: WorkContext, name: str, channel: Channel, webhook: str, secret: str = ""
) -> GroupSubscription:
    """A robot's group, under a name of the operator's choosing; refused if the name is taken
    or the webhook does not look like this robot's."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("error.group_name")
    if channel not in ROBOT_CHANNELS:
        raise ValueError(f"not a robot channel: {channel}")
    option = "--" + channel.value.replace("_robot", "") + "-webhook"
    url = check_webhook(channel, webhook, option)
    if secret and channel == Channel.WECOM_ROBOT:
        raise InvalidInput("error.group_secret", option="--secret")
    if find_group(ctx.session, name) is not None:
        raise InvalidInput("error.group_exists", name=name)
    group = GroupSubscription(
        title=name,
        name=name,
        channel=channel,
        address=url,
        secret=secret.strip(),
        created_at=ctx.now,
    )
    ctx.session.add(group)
    audit.record(
        ctx,
        "group_add",
        after={"name": name, "channel": channel.value, "webhook": masked(url)},
    )
    ctx.session.commit()
    return group


def remove_group(ctx: WorkContext, name: str) -> None:
    """A group stops receiving anything (what was queued for it is dropped with it)."""
    group = find_group(ctx.session, name)
    if group is None:
        raise InvalidInput("error.group_unknown", name=name)
    ctx.session.execute(
        sa.update(Outbox)
        .where(
            col(Outbox.group_id) == group.id,
            col(Outbox.recipient_id).is_(None),
            col(Outbox.status) == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.COVERED, last_error="group removed")
    )
    # its rows stay as history, no longer naming the group
    ctx.session.execute(
        sa.update(Outbox).where(col(Outbox.group_id) == group.id).values(group_id=None)
    )
    audit.record(ctx, "group_remove", before={"name": group.name, "channel": group.channel})
    ctx.session.delete(group)
    ctx.session.commit()


@dataclass(frozen=True)
class GroupRow:
    name: str
    channel: Channel
    where: str  # the webhook, masked; a Telegram group's chat id
    signed: bool


def list_groups(session: Session) -> list[GroupRow]:
    groups = session.exec(
        select(GroupSubscription).order_by(
            col(GroupSubscription.channel), col(GroupSubscription.name)
        )
    )
    return [
        GroupRow(
            name=g.name or g.title or g.address,
            channel=Channel(g.channel),
            where=masked(g.address) if g.channel in ROBOT_CHANNELS else g.address,
            signed=bool(g.secret),
        )
        for g in groups
    ]


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
