"""Signed links to the web pages: an owner's action link, a one-time sign-in, a session.

A token names one person, one purpose and one target, and an expiry; an HMAC-SHA256 with the
web secret proves we made it. Time comes from the caller (the injected clock), never the
system. Senders show the link (`Link` on a `Notice`); the web package reads it back here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from config import Settings
from ledger import audit
from ledger.access import is_owner
from ledger.clock import as_utc
from ledger.context import WorkContext
from ledger.enums import Duty
from ledger.errors import InvalidInput
from ledger.i18n import register
from ledger.models import Official, Outbox, Task, TaskPerson, WebLink
from ledger.notices import Link, task_params
from ledger.outbox import notify

ACTION = "a"  # an owner acts on one task
SIGNIN = "s"  # a one-time sign-in to the dashboard (target: the WebLink row)
SESSION = "c"  # the session cookie after sign-in (target: the same WebLink row)
PURPOSES = (ACTION, SIGNIN, SESSION)

register(
    "zh",
    {
        "link.action": "🔗 网页办理（报进展、上传佐证、申请延期）：{url}",
        "link.task": "🔗 #{task_id} 网页办理：{url}",
        "link.signin": "🔗 整改台账网页登录链接（一次有效，{minutes} 分钟内使用）：{url}",
        "notice.web_link": "{head}\n您申请了新的网页办理链接（旧链接已过期）：",
        "error.web_off": "网页功能未开启：请管理员设置 LEDGERBOT_WEB__SECRET 或 LEDGERBOT_WEB__SECRET_FILE（ledgerbot init 会生成）。",
        "error.links_throttled": "链接申请过于频繁，请 {minutes} 分钟后再试。",
    },
)
register(
    "en",
    {
        "link.action": "🔗 Act on the web (progress, evidence, extension): {url}",
        "link.task": "🔗 #{task_id} on the web: {url}",
        "link.signin": "🔗 Sign-in link for the ledger pages (one use, within {minutes} minutes): {url}",
        "notice.web_link": "{head}\nThe fresh web link you asked for (the old one expired):",
        "error.web_off": "The web pages are off: the admin sets LEDGERBOT_WEB__SECRET or LEDGERBOT_WEB__SECRET_FILE (ledgerbot init writes one).",
        "error.links_throttled": "Too many link requests; try again in {minutes} minutes.",
    },
)


@dataclass(frozen=True)
class Token:
    purpose: str
    official_id: int
    target: int
    expires: datetime


class BadLink(Exception):
    """A token that is not ours (forged, cut short, another purpose)."""


class ExpiredLink(Exception):
    """A token we made whose time is over; it still names its person, to send a fresh one."""

    def __init__(self, token: Token) -> None:
        super().__init__("expired")
        self.token = token


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign(secret: str, purpose: str, official_id: int, target: int, expires: datetime) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    body = f"{purpose}.{official_id}.{target}.{int(expires.timestamp())}"
    return f"{body}.{_mac(secret, body)}"


def read(secret: str, token: str, purpose: str, now: datetime) -> Token:
    """The token's content if we signed it for `purpose`; BadLink or ExpiredLink otherwise."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != purpose:
        raise BadLink(token[:12])
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(_mac(secret, body), mac):
        raise BadLink(token[:12])
    try:
        official_id, target, stamp = int(parts[1]), int(parts[2]), int(parts[3])
        expires = datetime.fromtimestamp(stamp, tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise BadLink(token[:12]) from None
    found = Token(purpose, official_id, target, expires)
    if now >= expires:
        raise ExpiredLink(found)
    return found


def action_token(
    secret: str, official_id: int, task_id: int, now: datetime, hours: int = 72
) -> str:
    return sign(secret, ACTION, official_id, task_id, now + timedelta(hours=hours))


def action_url(
    base_url: str, secret: str, official_id: int, task_id: int, now: datetime, hours: int = 72
) -> str:
    """The owner's page for one task: `{base}/a/{token}`, valid for `hours` from `now`."""
    return f"{base_url.rstrip('/')}/a/{action_token(secret, official_id, task_id, now, hours)}"


def owner_links(
    session: Session, settings: Settings, official_id: int, task_ids: list[int], now: datetime
) -> list[Link]:
    """An action link for each of these tasks that `official_id` owns (none without a secret)."""
    secret = settings.web.resolved_secret()
    if not secret or not task_ids:
        return []
    owned = set(
        session.exec(
            select(TaskPerson.task_id).where(
                TaskPerson.official_id == official_id,
                TaskPerson.duty == Duty.OWNER,
                col(TaskPerson.task_id).in_(task_ids),
            )
        )
    )
    key = "link.action" if len(task_ids) == 1 else "link.task"
    base, hours = settings.web.base_url(), settings.web.link_hours
    return [
        Link(key, action_url(base, secret, official_id, task_id, now, hours), task_id)
        for task_id in dict.fromkeys(task_ids)
        if task_id in owned
    ]


# --- sign-in, sessions, fresh links: ledger services (audited, rate-limited in the database) ---
class UsedLink(Exception):
    """A one-time sign-in link used a second time."""


class TooManyLinks(Exception):
    def __init__(self, minutes: int) -> None:
        super().__init__(f"wait {minutes} min")
        self.minutes = minutes


LINKS_PER_HOUR = 5  # sign-in links, or fresh action links, one person may ask for in an hour


def require_secret(settings: Settings) -> str:
    secret = settings.web.resolved_secret()
    if not secret:
        raise InvalidInput("error.web_off")
    return secret


def _throttle(recent: list[datetime], now: datetime) -> None:
    if len(recent) >= LINKS_PER_HOUR:
        wait = min(recent) + timedelta(hours=1) - now
        raise TooManyLinks(max(1, math.ceil(wait.total_seconds() / 60)))


def create_signin(ctx: WorkContext, official: Official) -> str:
    """A one-time sign-in URL for `official`'s dashboard (at most LINKS_PER_HOUR an hour)."""
    secret = require_secret(ctx.settings)
    assert official.id is not None
    since = ctx.now - timedelta(hours=1)
    recent = list(
        ctx.session.exec(
            select(WebLink.created_at).where(
                WebLink.official_id == official.id, col(WebLink.created_at) > since
            )
        )
    )
    _throttle(recent, ctx.now)
    expires = ctx.now + timedelta(minutes=ctx.settings.web.signin_minutes)
    row = WebLink(official_id=official.id, created_at=ctx.now, expires_at=expires)
    ctx.session.add(row)
    ctx.session.flush()
    assert row.id is not None
    audit.record(ctx, "web_signin_link", official_id=official.id, after={"link": row.id})
    token = sign(secret, SIGNIN, official.id, row.id, expires)
    return f"{ctx.settings.web.base_url()}/signin/{token}"


@dataclass(frozen=True)
class WebSession:
    official: Official
    link_id: int
    until: datetime
    cookie: str


def redeem_signin(ctx: WorkContext, token: str) -> WebSession:
    """Use a sign-in link once: a session cookie for `settings.web.session_hours`."""
    secret = require_secret(ctx.settings)
    found = read(secret, token, SIGNIN, ctx.now)
    row = ctx.session.get(WebLink, found.target)
    official = ctx.session.get(Official, found.official_id)
    if row is None or official is None or row.official_id != found.official_id:
        raise BadLink(token[:12])
    if row.used_at is not None:
        raise UsedLink()
    until = ctx.now + timedelta(hours=ctx.settings.web.session_hours)
    row.used_at, row.session_until = ctx.now, until
    ctx.session.add(row)
    assert row.id is not None and official.id is not None
    audit.record(ctx, "web_signin", official_id=official.id, after={"link": row.id})
    return WebSession(official, row.id, until, sign(secret, SESSION, official.id, row.id, until))


def session_of(session: Session, settings: Settings, cookie: str, now: datetime) -> WebSession:
    """The live session a cookie names; BadLink/ExpiredLink when it is none."""
    secret = require_secret(settings)
    found = read(secret, cookie, SESSION, now)
    row = session.get(WebLink, found.target)
    official = session.get(Official, found.official_id)
    if (
        row is None
        or official is None
        or row.official_id != found.official_id
        or row.ended_at is not None
        or row.session_until is None
        or as_utc(row.session_until) <= now
    ):
        raise ExpiredLink(found)
    return WebSession(official, found.target, as_utc(row.session_until), cookie)


def end_session(ctx: WorkContext, link_id: int) -> None:
    row = ctx.session.get(WebLink, link_id)
    if row is not None and row.ended_at is None:
        row.ended_at = ctx.now
        ctx.session.add(row)
        audit.record(ctx, "web_signout", official_id=row.official_id, after={"link": link_id})


def send_fresh_link(ctx: WorkContext, official_id: int, task_id: int) -> int:
    """A new action link for an expired one, queued to the person by their channel.

    The link itself is made when the notice is sent (`owner_links`), so it is fresh then.
    """
    official = ctx.session.get(Official, official_id)
    task = ctx.session.get(Task, task_id)
    if official is None or task is None or not is_owner(ctx.session, official, task):
        raise BadLink(str(task_id))
    since = ctx.now - timedelta(hours=1)
    recent = list(
        ctx.session.exec(
            select(Outbox.created_at).where(
                Outbox.recipient_id == official_id,
                Outbox.kind == "web_link",
                col(Outbox.created_at) > since,
            )
        )
    )
    _throttle([as_utc(r) for r in recent], ctx.now)
    audit.record(ctx, "web_link_requested", task_id=task_id, official_id=official_id)
    return notify(
        ctx.session,
        recipients=[official],
        kind="web_link",
        task_id=task_id,
        text_key="notice.web_link",
        now=ctx.now,
        zone=ctx.settings.zone,
        quiet=None,
        params=task_params(task, ctx.today, ctx.settings.policy.yellow_days),
    )
