"""SQLModel tables. The database is the single source of truth: nothing lives only in memory."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from ledger.enums import (
    Channel,
    Duty,
    ExtensionStatus,
    OfficialRole,
    OutboxStatus,
    TaskKind,
    TaskRole,
    TaskStatus,
    Via,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _enum(**kw: Any) -> Any:
    """Enums are stored as their plain values, readable in any SQL client."""
    return Field(sa_type=sa.String(20), **kw)


class Round(SQLModel, table=True):
    """One inspection round (巡察轮次) and its feedback."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    inspected_unit: str = ""
    inspection_group: str = ""
    feedback_date: date | None = None
    report_due_date: date | None = None
    created_at: datetime = _ts()


class Aspect(SQLModel, table=True):
    """方面: numbered (一), (二)… as the feedback numbers them."""

    __table_args__ = (sa.UniqueConstraint("round_id", "title"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    number: int
    title: str


class Problem(SQLModel, table=True):
    """具体问题: numbered 1、2、… within an aspect; None when the aspect is itself the problem."""

    __table_args__ = (sa.UniqueConstraint("aspect_id", "title"),)
    id: int | None = Field(default=None, primary_key=True)
    aspect_id: int = Field(foreign_key="aspect.id", index=True)
    number: int | None = None
    position: int = 0
    title: str


class Task(SQLModel, table=True):
    """整改任务: the unit of reminding, reporting and closing (销号)."""

    __table_args__ = (
        sa.UniqueConstraint("round_id", "ref"),
        sa.Index("ix_task_status_deadline", "status", "deadline"),
        sa.Index("ix_task_kind_status", "kind", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    problem_id: int = Field(foreign_key="problem.id", index=True)
    ref: str = Field(max_length=50)
    position: int = 0
    title: str
    measures: str = ""
    target: str = ""
    kind: TaskKind = _enum(default=TaskKind.DEADLINE)
    role: TaskRole = _enum(default=TaskRole.LEAD)
    lead_unit: str = ""
    participating_units: str = ""
    deadline: date | None = None
    original_deadline: date | None = None
    status: TaskStatus = _enum(default=TaskStatus.NOT_STARTED)
    completed_on: date | None = None
    completion_note: str = ""
    submitted_at: datetime | None = _ts(default=None)
    closed_by_id: int | None = Field(default=None, foreign_key="official.id")
    closed_on: date | None = None
    closing_opinion: str = ""
    escalation_level: int = 0
    notes: str = ""
    # what the sheet said, per field, the last time this task was imported (see ledger.importer)
    sheet_values: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Official(SQLModel, table=True):
    """A person in the ledger; reached through their contacts (`Contact`), bound once one is."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    unit: str = ""
    title: str = ""
    mobile: str = Field(default="", max_length=30)
    email: str = Field(default="", max_length=200)
    role: OfficialRole = _enum(default=OfficialRole.OWNER)
    language: str = "zh"
    created_at: datetime = _ts()


class Contact(SQLModel, table=True):
    """How to reach a person on one channel: at most one contact per channel, and an address
    belongs to one person. `reachable` is False after the channel said the person blocked us or
    is gone; any later message from them sets it back. The only home of channel addresses
    (a Telegram user id, a WeCom user id, an e-mail address, a mobile number)."""

    __table_args__ = (
        sa.UniqueConstraint("official_id", "channel"),
        sa.UniqueConstraint("channel", "address"),
    )
    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    channel: Channel = _enum()
    address: str = Field(max_length=200)
    reachable: bool = True
    preferred: bool = False  # notices go to the preferred reachable contact first
    bound_at: datetime = _ts()


class TaskPerson(SQLModel, table=True):
    """Who is owner (责任人), leader (责任领导) or supervisor (督办人) of a task, in sheet order."""

    __tablename__ = "task_person"
    __table_args__ = (sa.Index("ix_task_person_official", "official_id", "duty"),)
    task_id: int = Field(foreign_key="task.id", primary_key=True)
    official_id: int = Field(foreign_key="official.id", primary_key=True)
    duty: Duty = _enum(primary_key=True)
    position: int = 0


class InviteCode(SQLModel, table=True):
    """A one-time binding code; only its hash is stored."""

    __tablename__ = "invite_code"
    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    code_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(default=None)


class ProgressReport(SQLModel, table=True):
    __tablename__ = "progress_report"
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="official.id")
    text: str
    via: Via = _enum()
    created_at: datetime = _ts()


class Evidence(SQLModel, table=True):
    """佐证材料: a file attached to a task; the hash proves what was filed."""

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="official.id")
    file_name: str
    size: int
    mime_type: str = ""
    sha256: str = ""
    channel: Channel | None = _enum(default=None)  # the channel it came through, if any
    channel_file_id: str = ""  # the file's id there (to send it on without the copy)
    channel_file_unique_id: str = ""
    local_path: str = ""
    created_at: datetime = _ts()


class ExtensionRequest(SQLModel, table=True):
    __tablename__ = "extension_request"
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="official.id")
    old_deadline: date
    new_deadline: date
    reason: str
    status: ExtensionStatus = _enum(default=ExtensionStatus.PENDING)
    decided_by_id: int | None = Field(default=None, foreign_key="official.id")
    decided_at: datetime | None = _ts(default=None)
    decision_note: str = ""
    created_at: datetime = _ts()


class AuditEvent(SQLModel, table=True):
    """Every state change: who, through what, what, before and after."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor_id: int | None = Field(default=None, foreign_key="official.id")
    actor_name: str = ""
    via: Via = _enum()
    action: str = Field(max_length=50)
    task_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    official_id: int | None = Field(default=None, foreign_key="official.id")
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)


class Outbox(SQLModel, table=True):
    """Messages to send. Jobs and services write rows; only the dispatcher sends them.

    A notice about a task to a person is unique by (task, recipient, kind, stage), which makes
    a sweep idempotent across runs and processes; a row without a task or a recipient (a list,
    a digest, a group chat's message) is unique by its `dedupe_key` instead ('' otherwise).
    """

    __table_args__ = (
        sa.Index("ix_outbox_status_not_before", "status", "not_before"),
        sa.Index("ux_outbox_notice", "task_id", "recipient_id", "kind", "stage", unique=True),
        sa.Index(
            "ux_outbox_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=sa.text("dedupe_key <> ''"),
            postgresql_where=sa.text("dedupe_key <> ''"),
        ),
        sa.Index("ix_outbox_sweep_recipient", "sweep_id", "recipient_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(default="", max_length=200)
    channel: Channel | None = _enum(default=None)  # routed when queued; None: nowhere yet
    recipient_id: int | None = Field(default=None, foreign_key="official.id")
    group_id: int | None = Field(default=None, foreign_key="group_subscription.id")
    kind: str = Field(max_length=40)
    family: str = Field(default="", max_length=40)
    task_id: int | None = Field(default=None, foreign_key="task.id")
    stage: str = Field(default="", max_length=60)
    urgency: int = 0
    sweep_id: int | None = None
    text_key: str = Field(max_length=80)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    not_before: datetime = _ts()
    status: OutboxStatus = _enum(default=OutboxStatus.PENDING)
    attempts: int = 0
    last_error: str = ""
    parts_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # parts of a long notice already accepted: a retry resumes after them
    failing_since: datetime | None = _ts(default=None)  # the first transient failure, if any
    claimed_by: str = Field(default="", max_length=64)
    claimed_until: datetime | None = _ts(default=None)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(default=None)


class SentMessage(SQLModel, table=True):
    """A message a channel accepted, by its id there: what a reply to it is about. A notice
    points to its outbox row; a digest lists its tasks; a prompt says what was asked."""

    __tablename__ = "sent_message"
    __table_args__ = (sa.UniqueConstraint("channel", "address", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = _enum()
    address: str = Field(max_length=200)
    message_id: str = Field(max_length=100)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)
    kind: str = Field(max_length=40)  # the notice's kind, "digest" or "prompt"
    recipient_id: int | None = Field(default=None, foreign_key="official.id")
    task_id: int | None = Field(default=None, foreign_key="task.id")
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    sent_at: datetime = _ts()


class DeliveryWorker(SQLModel, table=True):
    """A running delivery worker's heartbeat: claims of a worker whose beat stopped go back."""

    __tablename__ = "delivery_worker"
    name: str = Field(primary_key=True, max_length=64)
    started_at: datetime = _ts()
    beat_at: datetime = _ts()


class SweepRun(SQLModel, table=True):
    """A completed sweep; the latest scheduled one tells start-up whether a catch-up is due."""

    __tablename__ = "sweep_run"
    id: int | None = Field(default=None, primary_key=True)
    as_of: datetime = _ts(index=True)
    scheduled: bool = True
    started_at: datetime = _ts()
    completed_at: datetime | None = _ts(default=None)
    queued: int = 0
    covered: int = 0


class GroupSubscription(SQLModel, table=True):
    """A group chat (e.g. the 领导小组's) that receives the weekly digest and the red list:
    the contact of a group, its address on its channel."""

    __tablename__ = "group_subscription"
    __table_args__ = (
        sa.UniqueConstraint("channel", "address"),
        sa.Index(
            "ux_group_subscription_name",
            "name",
            unique=True,
            sqlite_where=sa.text("name <> ''"),
            postgresql_where=sa.text("name <> ''"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = _enum()
    address: str = Field(max_length=200)  # a chat's id, or a robot's webhook URL
    title: str = ""
    subscribed_by_id: int | None = Field(default=None, foreign_key="official.id")
    created_at: datetime = _ts()
    name: str = Field(default="", max_length=100, sa_column_kwargs={"server_default": ""})
    secret: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})


class WebLink(SQLModel, table=True):
    """A one-time dashboard sign-in link, then the session it opened (the cookie names it).

    Only the id travels in the signed token; using the link stamps `used_at`, a second use is
    refused; signing out (or expiry) ends the session.
    """

    __tablename__ = "web_link"
    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(default=None)
    session_until: datetime | None = _ts(default=None)
    ended_at: datetime | None = _ts(default=None)
