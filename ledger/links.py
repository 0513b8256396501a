"""Signed links to the web pages: an owner's action link, a one-time sign-in, a session.

A token names one person, one purpose and one target, and an expiry; an HMAC-SHA256 with the
web secret proves we made it. Time comes from the caller (the injected clock), never the
system. Senders show the link (`Link` on a `Notice`); the web package reads it back here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from config import Settings
from ledger.enums import Duty
from ledger.i18n import register
from ledger.models import TaskPerson

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
    },
)
register(
    "en",
    {
        "link.action": "🔗 Act on the web (progress, evidence, extension): {url}",
        "link.task": "🔗 #{task_id} on the web: {url}",
        "link.signin": "🔗 Sign-in link for the ledger pages (one use, within {minutes} minutes): {url}",
    },
)


@dataclass(frozen=True)
class Link:
    """A link on a notice; each sender renders it its own way (a text line, a URL button)."""

    label_key: str  # a catalog key taking {url} (and {task_id})
    url: str
    task_id: int | None = None


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
