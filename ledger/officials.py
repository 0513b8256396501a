"""Officials, one-time invite codes and binding a channel's account to a person.

An invite is a channel-neutral code; each channel renders it its own way (Telegram: a `t.me`
link, in `bot/`) and redeeming it gives the person a contact on that channel."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from ledger import audit
from ledger.clock import as_utc
from ledger.contacts import holder, set_contact
from ledger.context import WorkContext
from ledger.enums import Channel, OfficialRole
from ledger.errors import InvalidInput, LedgerError
from ledger.models import InviteCode, Official, Outbox


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def find_official(session: Session, name: str) -> Official | None:
    return session.exec(select(Official).where(Official.name == name.strip())).first()


@dataclass(frozen=True)
class Invite:
    """A fresh code; a channel renders it (`bot.invites.telegram_link`)."""

    official: Official
    code: str
    expires_at_text: str


def create_invite(ctx: WorkContext, name: str, role: OfficialRole | None = None) -> Invite:
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
    return Invite(official=official, code=code, expires_at_text=local)


@dataclass(frozen=True)
class BindResult:
    official: Official | None
    error: LedgerError | None = None
    queued: int = 0


def redeem_invite(
    ctx: WorkContext, code: str, *, channel: Channel, address: str, audit_refusal: bool = True
) -> BindResult:
    """Bind the account (`address` on `channel`) to the invited person as their contact there;
    refusals are audited too (unless a burst of guesses already was), so they are returned
    rather than raised."""
    invite = ctx.session.exec(
        select(InviteCode).where(InviteCode.code_hash == hash_code(code.strip()))
    ).first()
    error: LedgerError | None = None
    bound_to = holder(ctx.session, channel, address)
    if invite is None:
        error = LedgerError("error.invite_unknown")
    elif invite.used_at is not None:
        error = LedgerError("error.invite_used")
    elif as_utc(invite.expires_at) <= ctx.now:
        error = LedgerError("error.invite_expired")
    elif bound_to is not None and bound_to.id != invite.official_id:
        error = LedgerError("error.account_bound_other", name=bound_to.name)
    if (error is not None or invite is None) and not audit_refusal:
        return BindResult(official=None, error=error)
    if error is not None or invite is None:
        audit.record(
            ctx,
            "bind_refused",
            official_id=invite.official_id if invite else None,
            after={"channel": channel, "address": address, "reason": error.key if error else ""},
        )
        return BindResult(official=None, error=error)
    official = ctx.session.get(Official, invite.official_id)
    assert official is not None
    invite.used_at = ctx.now
    ctx.session.add(invite)
    audit.record(ctx, "bind", official_id=official.id, after={"channel": channel})
    set_contact(ctx, official, channel, address)
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


def list_officials(session: Session) -> list[Official]:
    return list(session.exec(select(Official).order_by(col(Official.role), col(Official.name))))
