"""Officials, one-time invite codes and binding a Telegram account to a person."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from ledger import audit
from ledger.clock import as_utc
from ledger.context import WorkContext
from ledger.enums import OfficialRole
from ledger.errors import InvalidInput, LedgerError
from ledger.models import InviteCode, Official, Outbox


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def find_official(session: Session, name: str) -> Official | None:
    return session.exec(select(Official).where(Official.name == name.strip())).first()


def by_telegram_user(session: Session, telegram_user_id: int) -> Official | None:
    return session.exec(
        select(Official).where(Official.telegram_user_id == telegram_user_id)
    ).first()


@dataclass(frozen=True)
class Invite:
    official: Official
    code: str
    link: str
    expires_at_text: str


def create_invite(
    ctx: WorkContext, name: str, role: OfficialRole | None = None, *, bot_username: str
) -> Invite:
    """A fresh code for `name`; earlier unused codes of that person stop working."""
    official = find_official(ctx.session, name)
    if official is None:
        raise InvalidInput("error.official_unknown", name=name)
    assert official.id is not None
    if role is not None and role != official.role:
        before = audit.snapshot(official, ("role",))
        official.role = role
        ctx.session.add(official)
        audit.record(ctx, "role", official_id=official.id, before=before, after={"role": role})
    for old in ctx.session.exec(
        select(InviteCode).where(
            InviteCode.official_id == official.id, col(InviteCode.used_at).is_(None)
        )
    ):
        old.expires_at = min(as_utc(old.expires_at), ctx.now)
        ctx.session.add(old)
    code = secrets.token_urlsafe(12)
    expires = ctx.now + timedelta(hours=ctx.settings.policy.invite_ttl_hours)
    ctx.session.add(
        InviteCode(
            official_id=official.id,
            code_hash=hash_code(code),
            created_at=ctx.now,
            expires_at=expires,
        )
    )
    audit.record(ctx, "invite", official_id=official.id, after={"expires_at": expires})
    ctx.session.flush()
    local = expires.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M")
    return Invite(
        official=official,
        code=code,
        link=f"https://t.me/{bot_username}?start={code}",
        expires_at_text=local,
    )


@dataclass(frozen=True)
class BindResult:
    official: Official | None
    error: LedgerError | None = None
    queued: int = 0


def redeem_invite(
    ctx: WorkContext, code: str, *, telegram_user_id: int, chat_id: int, audit_refusal: bool = True
) -> BindResult:
    """Bind the account; refusals are audited too (unless a burst of guesses already was),
    so they are returned rather than raised."""
    invite = ctx.session.exec(
        select(InviteCode).where(InviteCode.code_hash == hash_code(code.strip()))
    ).first()
    error: LedgerError | None = None
    holder = by_telegram_user(ctx.session, telegram_user_id)
    if invite is None:
        error = LedgerError("error.invite_unknown")
    elif invite.used_at is not None:
        error = LedgerError("error.invite_used")
    elif as_utc(invite.expires_at) <= ctx.now:
        error = LedgerError("error.invite_expired")
    elif holder is not None and holder.id != invite.official_id:
        error = LedgerError("error.account_bound_other", name=holder.name)
    if (error is not None or invite is None) and not audit_refusal:
        return BindResult(official=None, error=error)
    if error is not None or invite is None:
        audit.record(
            ctx,
            "bind_refused",
            official_id=invite.official_id if invite else None,
            after={"telegram_user_id": telegram_user_id, "reason": error.key if error else ""},
        )
        return BindResult(official=None, error=error)
    official = ctx.session.get(Official, invite.official_id)
    assert official is not None
    before = audit.snapshot(official, ("telegram_user_id", "chat_id", "reachable"))
    invite.used_at = ctx.now
    invite.used_by_telegram_id = telegram_user_id
    official.telegram_user_id = telegram_user_id
    official.chat_id = chat_id
    official.reachable = True
    official.bound_at = ctx.now
    ctx.session.add_all([invite, official])
    audit.record(
        ctx,
        "bind",
        official_id=official.id,
        before=before,
        after=audit.snapshot(official, ("telegram_user_id", "chat_id", "reachable")),
    )
    ctx.session.flush()
    waiting = ctx.session.exec(
        select(Outbox.id).where(Outbox.recipient_id == official.id, Outbox.status == "pending")
    ).all()
    return BindResult(official=official, queued=len(waiting))


def set_language(ctx: WorkContext, official: Official, language: str) -> Official:
    if language not in ("zh", "en"):
        raise InvalidInput("error.input", detail="zh | en")
    before = audit.snapshot(official, ("language",))
    official.language = language
    ctx.session.add(official)
    audit.record(
        ctx, "language", official_id=official.id, before=before, after={"language": language}
    )
    return official


def mark_unreachable(ctx: WorkContext, official: Official, reason: str) -> None:
    if not official.reachable:
        return
    official.reachable = False
    ctx.session.add(official)
    audit.record(
        ctx,
        "unreachable",
        official_id=official.id,
        before={"reachable": True},
        after={"reachable": False, "reason": reason},
    )


def list_officials(session: Session) -> list[Official]:
    return list(session.exec(select(Official).order_by(col(Official.role), col(Official.name))))
