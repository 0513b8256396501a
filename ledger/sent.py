"""Sent messages: a channel's message id → what it was (a notice's outbox row, a digest's
tasks, a prompt's question), so a reply to it is applied to the right task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from ledger.enums import Channel
from ledger.models import SentMessage


def record_sent(
    session: Session,
    *,
    channel: Channel,
    address: str,
    message_id: str | int,
    kind: str,
    now: datetime,
    recipient_id: int | None,
    task_id: int | None,
    outbox_id: int | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Remember a message the channel accepted (a notice, a digest, or a prompt sent outside
    the outbox); the same message recorded twice (a retry after a crash) is kept once."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(SentMessage.__table__)  # type: ignore[attr-defined]
        .values(
            channel=channel.value,
            address=address,
            message_id=str(message_id),
            outbox_id=outbox_id,
            kind=kind,
            recipient_id=recipient_id,
            task_id=task_id,
            params=params or {},
            sent_at=now,
        )
        .on_conflict_do_nothing()
    )


def find_sent(
    session: Session, channel: Channel, address: str | int, message_id: str | int
) -> SentMessage | None:
    """What a message in a chat was: a reminder, a digest or a prompt."""
    return session.exec(
        select(SentMessage).where(
            SentMessage.channel == channel,
            SentMessage.address == str(address),
            SentMessage.message_id == str(message_id),
        )
    ).first()
