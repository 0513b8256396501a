"""Officials, one-time invite codes and binding a channel's account to a person.

An invite is a channel-neutral code; each channel renders it its own way (Telegram: a `t.me`
link, in `bot/`) and redeeming it gives the person a contact on that channel."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from ledger import audit
from ledger.clock import as_utc
from ledger.contacts import clear_contact, holder, set_contact
from ledger.context import WorkContext
from ledger.enums import Channel, OfficialRole
from ledger.errors import InvalidInput, LedgerError
from ledger.models import InviteCode, Official, Outbox
from ledger.names import split_name_title

CONTACT_FIELDS = ("unit", "title", "role", "mobile", "email")
_MOBILE = re.compile(r"^\+?[0-9][0-9-]{4,28}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def find_official(session: Session, name: str) -> Official | None:
    """The person by name as anyone types it ("刘　倩", "孙明（股长）" find 刘倩, 孙明)."""
    clean, _ = split_name_title(name)
    return session.exec(select(Official).where(Official.name == clean)).first()


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


@dataclass(frozen=True)
class OfficialChange:
    official: Official
    created: bool
    changes: dict[str, tuple[str, str]]  # field -> (before, after)


_USERID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")


def check_contact(field: str, value: str) -> str | None:
    """Why a unit/title/mobile/email value is unusable, else None (Chinese, for the operator)."""
    limits = {"unit": 200, "title": 100, "mobile": 30, "email": 200, "wecom": 64, "dingtalk": 64}
    if len(value) > limits.get(field, 200):
        return f"过长（最多{limits.get(field, 200)}字）"
    if field in ("wecom", "dingtalk") and value and not _USERID.match(value):
        return f"账号“{value}”格式不对（userid：字母、数字、_ . @ -）"
    if field == "mobile" and value and not _MOBILE.match(value):
        return f"手机号“{value}”格式不对（只能有数字、“-”和开头的“+”）"
    if field == "email" and value and not _EMAIL.match(value):
        return f"邮箱“{value}”格式不对（示例：zhangsan@example.gov.cn）"
    return None


def set_official(
    ctx: WorkContext,
    name: str,
    *,
    unit: str | None = None,
    title: str | None = None,
    role: OfficialRole | None = None,
    mobile: str | None = None,
    email: str | None = None,
    wecom: str | None = None,
    dingtalk: str | None = None,
) -> OfficialChange:
    """Create or update a person's unit, title, role and contacts; only given fields change.
    Mobile, email, WeCom and DingTalk userids are also the person's delivery contacts
    (`ledger.contacts`: '' clears one)."""
    clean, written_title = split_name_title(name)
    if not clean:
        raise InvalidInput("error.input", detail="姓名为空")
    if title is None and written_title:
        title = written_title
    wanted: dict[str, object] = {}
    for field, value in (("unit", unit), ("title", title), ("mobile", mobile), ("email", email)):
        if value is not None:
            value = value.strip()
            problem = check_contact(field, value)
            if problem is not None:
                raise InvalidInput("error.input", detail=f"{field}: {problem}")
            wanted[field] = value
    if role is not None:
        wanted["role"] = role
    official = find_official(ctx.session, clean)
    created = official is None
    if official is None:
        official = Official(name=clean, created_at=ctx.now)
        ctx.session.add(official)
    before = audit.snapshot(official, CONTACT_FIELDS)
    for field, new_value in wanted.items():
        setattr(official, field, new_value)
    after = audit.snapshot(official, CONTACT_FIELDS)
    changes = {
        f: (str(before[f] or ""), str(after[f] or ""))
        for f in CONTACT_FIELDS
        if before[f] != after[f]
    }
    ctx.session.flush()
    if created or changes:
        audit.record(
            ctx,
            "official_create" if created else "official_set",
            official_id=official.id,
            before=None if created else before,
            after=after,
        )
    given: list[tuple[Channel, object]] = [
        (Channel.MOBILE, wanted.get("mobile")),
        (Channel.EMAIL, wanted.get("email")),
        (Channel.WECOM, wecom),
        (Channel.DINGTALK, dingtalk),
    ]
    for channel, given_value in given:
        if given_value is None:
            continue
        if str(given_value).strip():
            set_contact(ctx, official, channel, str(given_value))
        else:
            clear_contact(ctx, official, channel)
    return OfficialChange(official=official, created=created, changes=changes)


ROLE_NAMES: dict[str, OfficialRole] = {
    **{r.value: r for r in OfficialRole},
    "责任人": OfficialRole.OWNER,
    "责任领导": OfficialRole.LEADER,
    "分管领导": OfficialRole.LEADER,
    "主要负责人": OfficialRole.HEAD,
    "督办人": OfficialRole.SUPERVISOR,
    "管理员": OfficialRole.ADMIN,
}


def role_from_text(text: str) -> OfficialRole | None:
    return ROLE_NAMES.get(text.strip().lower())


def import_officials(ctx: WorkContext, path: Path) -> list[OfficialChange]:
    """People from a sheet (姓名, 单位, 职务, 角色, 手机号, 邮箱): all rows or none."""
    from ledger.errors import ImportFailed, RowError
    from ledger.sheets import OFFICIAL_COLUMNS, OFFICIALS, read_sheet

    sheet = read_sheet(path, OFFICIALS)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    wanted: list[tuple[str, dict[str, Any]]] = []

    def header(field: str) -> str:
        return sheet.headers.get(field, OFFICIAL_COLUMNS[field][0])

    for row, cells in sheet.rows:
        raw = "" if cells.get("name") is None else str(cells["name"])
        name, written_title = split_name_title(raw)
        if not name:
            errors.append(RowError(row, header("name"), "姓名为空"))
            continue
        if name in seen:
            errors.append(RowError(row, header("name"), f"“{name}”重复（与第{seen[name]}行相同）"))
            continue
        seen[name] = row
        fields: dict[str, Any] = {}
        for field in ("unit", "title", "mobile", "email", "wecom", "dingtalk"):
            if field not in sheet.headers:
                continue
            value = cells.get(field)
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # a mobile number typed as a number
            text = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()
            problem = check_contact(field, text)
            if problem is not None:
                errors.append(RowError(row, header(field), problem))
            fields[field] = text
        if written_title and not fields.get("title"):
            fields["title"] = written_title
        role_text = "" if cells.get("role") is None else str(cells["role"]).strip()
        if role_text:
            role = role_from_text(role_text)
            if role is None:
                errors.append(
                    RowError(
                        row,
                        header("role"),
                        f"未知的角色“{role_text}”（可填：责任人、责任领导、主要负责人、督办人、管理员）",
                    )
                )
            fields["role"] = role
        wanted.append((name, fields))
    if errors:
        raise ImportFailed(errors)
    if not wanted:
        raise ImportFailed([RowError(0, "表格", "表中没有人员行")])
    return [set_official(ctx, name, **fields) for name, fields in wanted]
