"""Closed vocabularies stored as their English values; Chinese labels live in the catalogs."""

from __future__ import annotations

from enum import StrEnum


class TaskKind(StrEnum):
    IMMEDIATE = "immediate"  # 立行立改
    DEADLINE = "deadline"  # 限期整改
    LONG_TERM = "long_term"  # 长期坚持


class TaskRole(StrEnum):
    LEAD = "lead"  # 牵头
    PARTICIPATING = "participating"  # 参与


class TaskStatus(StrEnum):
    NOT_STARTED = "not_started"  # 未启动
    IN_PROGRESS = "in_progress"  # 推进中
    SUBMITTED = "submitted"  # 待销号
    CLOSED = "closed"  # 已销号


OPEN_STATUSES = (TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS)


class Duty(StrEnum):
    """What a person is for one task (the ledger's person columns)."""

    OWNER = "owner"  # 责任人
    LEADER = "leader"  # 责任领导
    SUPERVISOR = "supervisor"  # 督办人


class OfficialRole(StrEnum):
    OWNER = "owner"
    LEADER = "leader"
    HEAD = "head"  # the unit's 主要负责人
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# who receives the managers' lists and digests, and uses the managers' commands
MANAGER_ROLES = (
    OfficialRole.SUPERVISOR,
    OfficialRole.LEADER,
    OfficialRole.HEAD,
    OfficialRole.ADMIN,
)
# who may subscribe a group chat to the weekly digest
GROUP_ROLES = (OfficialRole.SUPERVISOR, OfficialRole.ADMIN)


class Light(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"
    CLOSED = "closed"


class Via(StrEnum):
    CLI = "cli"
    TELEGRAM = "telegram"
    SCHEDULER = "scheduler"
    IMPORT = "import"
    WEB = "web"


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # a permanent refusal (BadRequest): recorded, never retried
    DEAD = "dead"  # retries exhausted
    COVERED = "covered"  # superseded by a more urgent notice, or no longer relevant


class NoticeKind(StrEnum):
    """What an outbox row or a sent message is (`Outbox.kind`, `SentMessage.kind`)."""

    REMINDER = "reminder"
    ESCALATION = "escalation"
    LONG_TERM_REQUEST = "long_term_request"
    NUDGE = "nudge"
    PENDING_LIST = "pending_list"
    REPORT_DUE = "report_due"
    WEEKLY_DIGEST = "weekly_digest"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    LONG_TERM = "long_term"
    REOPENED = "reopened"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_APPROVED = "extension_approved"
    EXTENSION_REJECTED = "extension_rejected"
    WEB_LINK = "web_link"  # a one-time dashboard sign-in link
    OVERSIGHT = "oversight"  # a leader's or head's list of tasks needing attention
    DIGEST = "digest"  # a sent message gathering several reminders
    PROMPT = "prompt"  # a sent message asking something (a reason, which task)


class Channel(StrEnum):
    """A way to reach a person (a contact's channel) or a group chat; an outbox row is routed to
    one when it is queued. Order here is the fallback order when no contact is preferred."""

    TELEGRAM = "telegram"
    WECOM = "wecom"  # 企业微信 / 政务微信 application message to a userid
    DINGTALK = "dingtalk"  # 钉钉 work notification to a userid
    EMAIL = "email"
    MOBILE = "mobile"  # a 手机号 (短信; robots @-mention by it)
    WECOM_ROBOT = "wecom_robot"  # group robots: one group chat each
    DINGTALK_ROBOT = "dingtalk_robot"
    FEISHU_ROBOT = "feishu_robot"


ROBOT_CHANNELS = (Channel.WECOM_ROBOT, Channel.DINGTALK_ROBOT, Channel.FEISHU_ROBOT)
