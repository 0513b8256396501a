"""Task lifecycle: 未启动 -> 推进中 -> 待销号 -> 已销号, rejection, long-term, reopening (回头看).

Every function checks who may act, refuses illegal transitions with a reason, writes the audit
trail, and queues the event messages the change implies.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from config import Settings
from ledger import audit
from ledger.access import is_owner, require_manager, require_owner, require_supervisor
from ledger.clock import as_utc
from ledger.context import WorkContext
from ledger.enums import (
    OPEN_STATUSES,
    Channel,
    Duty,
    ExtensionStatus,
    NoticeKind,
    TaskKind,
    TaskStatus,
)
from ledger.errors import InvalidInput, InvalidTransition, LedgerError, NotAllowed, NotFound
from ledger.i18n import register, render
from ledger.models import AuditEvent, Evidence, ExtensionRequest, ProgressReport, Task
from ledger.notices import task_params
from ledger.outbox import notify, supervisors_of, task_people
from ledger.workdays import WorkCalendar

TASK_FIELDS = (
    "status",
    "kind",
    "deadline",
    "original_deadline",
    "completed_on",
    "closed_by_id",
    "closed_on",
    "closing_opinion",
    "completion_note",
)


register(
    "zh",
    {
        "why.own_task": "您是任务 #{task_id} 的责任人，不能{action}自己的任务，请由其他督办人处理。",
        "error.stale": "该按钮已失效：{why}",
        "stale.resubmitted": "任务 #{task_id} 在此之后被退回或重新提交，请按最新的提交处理。",
        "stale.task_changed": "任务 #{task_id} 已是“{status}”，不再需要这项操作。",
        "stale.deadline_changed": "任务 #{task_id} 的截止日期已改为 {deadline}，该延期申请已过时。",
    },
)
register(
    "en",
    {
        "why.own_task": "you own task #{task_id}; nobody may {action} their own task. Ask another supervisor.",
        "error.stale": "This button is no longer valid (已失效): {why}",
        "stale.resubmitted": "task #{task_id} was rejected or submitted again since; act on the latest submission.",
        "stale.task_changed": "task #{task_id} is now “{status}”; this is no longer needed.",
        "stale.deadline_changed": "task #{task_id}'s deadline is now {deadline}; this request is out of date.",
    },
)


def stale(ctx: WorkContext, why_key: str, **params: Any) -> InvalidInput:
    """A decision made on what the task no longer is: "已失效", and nothing changes."""
    return InvalidInput("error.stale", why=render(why_key, ctx.actor.lang, **params))


def submission_stamp(task: Task) -> str:
    """Which submission a 销号/退回 decision is about (the instant it was submitted)."""
    if task.submitted_at is None:
        return ""
    stamp = as_utc(task.submitted_at)
    return str(int(stamp.timestamp()) * 1_000_000 + stamp.microsecond)


def refuse_own_task(ctx: WorkContext, task: Task, action_key: str) -> None:
    """Nobody verifies or decides on a task they own, whatever other role they hold."""
    official = ctx.actor.official
    if official is not None and is_owner(ctx.session, official, task):
        raise NotAllowed(
            why=render(
                "why.own_task",
                ctx.actor.lang,
                task_id=task.id,
                action=render(action_key, ctx.actor.lang),
            )
        )


def get_task(ctx: WorkContext, task_id: int) -> Task:
    task = ctx.session.get(Task, task_id)
    if task is None:
        raise NotFound(what=render("word.task", ctx.actor.lang), ref=f"#{task_id}")
    return task


def _refuse(ctx: WorkContext, task: Task, action_key: str, why_key: str) -> InvalidTransition:
    lang = ctx.actor.lang
    return InvalidTransition(
        action=render(action_key, lang),
        task_id=task.id,
        status=render(f"status.{task.status}", lang),
        why=render(why_key, lang),
    )


def _event(ctx: WorkContext, task: Task, duty: Duty | None, kind: str, **params: Any) -> None:
    """Tell the task's people of a change (owners of decisions, supervisors of submissions)."""
    assert task.id is not None
    people = (
        supervisors_of(ctx.session, task.id)
        if duty is None
        else task_people(ctx.session, task.id, duty)
    )
    policy = ctx.settings.policy
    notify(
        ctx.session,
        recipients=[p for p in people if p.id != ctx.actor.official_id],
        kind=kind,
        task_id=task.id,
        text_key=f"notice.{kind}",
        now=ctx.now,
        zone=ctx.settings.zone,
        quiet=policy.quiet_window(),
        params={
            **task_params(task, ctx.today, policy.yellow_days),
            "by": ctx.actor.name,
            **params,
        },
    )


def _touch(ctx: WorkContext, task: Task) -> None:
    task.updated_at = ctx.now
    ctx.session.add(task)


def record_progress(ctx: WorkContext, task_id: int, text: str) -> ProgressReport:
    task = get_task(ctx, task_id)
    require_owner(ctx, task)
    text = text.strip()
    if not text:
        raise InvalidInput("error.need_reason", action=render("action.progress", ctx.actor.lang))
    if task.status == TaskStatus.CLOSED:
        raise InvalidInput("error.closed_task", task_id=task.id)
    before = audit.snapshot(task, ("status",))
    report = ProgressReport(
        task_id=task.id or 0,
        author_id=ctx.actor.official_id,
        text=text,
        via=ctx.actor.via,
        created_at=ctx.now,
    )
    ctx.session.add(report)
    if task.status == TaskStatus.NOT_STARTED:
        task.status = TaskStatus.IN_PROGRESS
    _touch(ctx, task)
    audit.record(
        ctx,
        "progress",
        task_id=task.id,
        before=before,
        after={"status": task.status, "text": text[:500]},
    )
    ctx.session.flush()
    return report


def evidence_count(ctx: WorkContext, task_id: int) -> int:
    stmt = select(func.count()).select_from(Evidence).where(Evidence.task_id == task_id)
    return int(ctx.session.exec(stmt).one())


def mark_submitted(ctx: WorkContext, task_id: int, note: str = "") -> Task:
    """The owner says it is done: 待销号 until a supervisor verifies."""
    task = get_task(ctx, task_id)
    require_owner(ctx, task)
    if task.kind == TaskKind.LONG_TERM:
        raise InvalidInput("error.long_term_no_close")
    if task.status == TaskStatus.SUBMITTED:
        raise _refuse(ctx, task, "action.submit", "why.already_submitted")
    if task.status == TaskStatus.CLOSED:
        raise _refuse(ctx, task, "action.submit", "why.already_closed")
    note = note.strip()
    if not note and evidence_count(ctx, task_id) == 0:
        raise InvalidInput("error.need_note_or_evidence")
    before = audit.snapshot(task, TASK_FIELDS)
    task.status = TaskStatus.SUBMITTED
    task.completed_on = ctx.today
    task.completion_note = note
    task.submitted_at = ctx.now
    _touch(ctx, task)
    audit.record(
        ctx, "submit", task_id=task.id, before=before, after=audit.snapshot(task, TASK_FIELDS)
    )
    _event(ctx, task, None, "submitted", note=note, submission=submission_stamp(task))
    ctx.session.flush()
    return task


def report_done(ctx: WorkContext, task_id: int, note: str, *, said: str) -> tuple[Task, bool]:
    """The owner says it is done: submitted for 销号, or, for a 长期坚持 task (never closed),
    what they said (`said`) recorded as this period's progress report. No reply is lost.

    Returns the task and whether it was submitted.
    """
    task = get_task(ctx, task_id)
    if task.kind == TaskKind.LONG_TERM and said.strip():
        record_progress(ctx, task_id, said)
        return task, False
    return mark_submitted(ctx, task_id, note), True


def verify(
    ctx: WorkContext, task_id: int, opinion: str = "", *, submission: str | None = None
) -> Task:
    """销号: a supervisor (never an owner of the task) accepts the completion.

    `submission` (from a button) is the `submission_stamp` the decision was offered for.
    """
    task = get_task(ctx, task_id)
    require_supervisor(ctx, task, "action.verify")
    refuse_own_task(ctx, task, "action.verify")
    check_submission(ctx, task, submission)
    if task.status != TaskStatus.SUBMITTED:
        raise _refuse(ctx, task, "action.verify", "why.only_submitted")
    before = audit.snapshot(task, TASK_FIELDS)
    task.status = TaskStatus.CLOSED
    task.closed_by_id = ctx.actor.official_id
    task.closed_on = ctx.today
    task.closing_opinion = opinion.strip()
    _touch(ctx, task)
    audit.record(
        ctx, "verify", task_id=task.id, before=before, after=audit.snapshot(task, TASK_FIELDS)
    )
    _event(ctx, task, Duty.OWNER, "verified", opinion=task.closing_opinion)
    ctx.session.flush()
    return task


def check_submission(ctx: WorkContext, task: Task, submission: str | None) -> None:
    """A decision offered for one submission does not apply to a later one (or to none)."""
    if submission is None:
        return
    if task.status != TaskStatus.SUBMITTED:
        raise stale(
            ctx,
            "stale.task_changed",
            task_id=task.id,
            status=render(f"status.{task.status}", ctx.actor.lang),
        )
    if submission and submission != submission_stamp(task):
        raise stale(ctx, "stale.resubmitted", task_id=task.id)


def check_still_open(ctx: WorkContext, task: Task, action: str) -> None:
    """An owner's button (done, progress, extend) on a task that has moved on: 已失效."""
    if action == "details":
        return
    moved_on = task.status == TaskStatus.CLOSED or (
        action in ("done", "extend") and task.status == TaskStatus.SUBMITTED
    )
    if action == "extend" and task.kind == TaskKind.LONG_TERM:
        moved_on = True
    if moved_on:
        status = "kind.long_term" if task.kind == TaskKind.LONG_TERM else f"status.{task.status}"
        raise stale(
            ctx, "stale.task_changed", task_id=task.id, status=render(status, ctx.actor.lang)
        )


def reject(ctx: WorkContext, task_id: int, reason: str, *, submission: str | None = None) -> Task:
    """退回: back to 推进中 with the reason the owner must address."""
    task = get_task(ctx, task_id)
    require_supervisor(ctx, task, "action.reject")
    check_submission(ctx, task, submission)
    if task.status != TaskStatus.SUBMITTED:
        raise _refuse(ctx, task, "action.reject", "why.only_submitted")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("error.need_reason", action=render("action.reject", ctx.actor.lang))
    before = audit.snapshot(task, TASK_FIELDS)
    task.status = TaskStatus.IN_PROGRESS
    task.completed_on = None
    task.submitted_at = None
    _touch(ctx, task)
    audit.record(
        ctx,
        "reject",
        task_id=task.id,
        before=before,
        after={**audit.snapshot(task, TASK_FIELDS), "reason": reason},
    )
    _event(ctx, task, Duty.OWNER, "rejected", reason=reason)
    ctx.session.flush()
    return task


def make_long_term(ctx: WorkContext, task_id: int, reason: str = "") -> Task:
    """A supervisor turns an item into 长期坚持: periodic reports, no final deadline."""
    task = get_task(ctx, task_id)
    require_supervisor(ctx, task, "action.long_term")
    if task.status == TaskStatus.CLOSED:
        raise _refuse(ctx, task, "action.long_term", "why.already_closed")
    if task.kind == TaskKind.LONG_TERM:
        raise _refuse(ctx, task, "action.long_term", "why.already_long_term")
    before = audit.snapshot(task, TASK_FIELDS)
    if task.original_deadline is None:
        task.original_deadline = task.deadline
    task.kind = TaskKind.LONG_TERM
    task.deadline = None
    task.escalation_level = 0
    if task.status == TaskStatus.SUBMITTED or task.status == TaskStatus.NOT_STARTED:
        task.status = TaskStatus.IN_PROGRESS
    _touch(ctx, task)
    audit.record(
        ctx,
        "long_term",
        task_id=task.id,
        before=before,
        after={**audit.snapshot(task, TASK_FIELDS), "reason": reason},
    )
    _event(ctx, task, Duty.OWNER, "long_term", reason=reason)
    ctx.session.flush()
    return task


def reopen(
    ctx: WorkContext,
    task_id: int,
    reason: str,
    *,
    deadline: date | None = None,
    calendar: WorkCalendar | None = None,
) -> Task:
    """回头看: a closed item found wanting goes back to 推进中 with a new deadline.

    The deadline is the given date, else `policy.reopen_working_days` working days from today;
    escalation starts again and the first closing stays in the audit trail.
    """
    task = get_task(ctx, task_id)
    require_supervisor(ctx, task, "action.reopen")
    if task.status != TaskStatus.CLOSED:
        raise _refuse(ctx, task, "action.reopen", "why.only_closed")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("error.need_reason", action=render("action.reopen", ctx.actor.lang))
    if deadline is not None and deadline <= ctx.today:
        raise InvalidInput(
            "error.reopen_past", new=deadline.isoformat(), today=ctx.today.isoformat()
        )
    before = audit.snapshot(task, (*TASK_FIELDS, "escalation_level"))
    if task.kind != TaskKind.LONG_TERM:
        if deadline is None:
            calendar = calendar or WorkCalendar.from_file(ctx.settings.calendar_file)
            deadline = calendar.add_working_days(ctx.today, ctx.settings.policy.reopen_working_days)
        if task.original_deadline is None:
            task.original_deadline = task.deadline
        task.deadline = deadline
    task.escalation_level = 0
    task.status = TaskStatus.IN_PROGRESS
    task.closed_by_id = None
    task.closed_on = None
    task.closing_opinion = ""
    task.completed_on = None
    task.submitted_at = None
    _touch(ctx, task)
    audit.record(
        ctx,
        "reopen",
        task_id=task.id,
        before=before,
        after={**audit.snapshot(task, (*TASK_FIELDS, "escalation_level")), "reason": reason},
    )
    _event(
        ctx,
        task,
        Duty.OWNER,
        "reopened",
        reason=reason,
        new=task.deadline.isoformat() if task.deadline else "",
    )
    ctx.session.flush()
    return task


def request_extension(
    ctx: WorkContext, task_id: int, new_deadline: date, reason: str
) -> ExtensionRequest:
    task = get_task(ctx, task_id)
    require_owner(ctx, task)
    if task.status == TaskStatus.CLOSED:
        raise InvalidInput("error.closed_task", task_id=task.id)
    if task.deadline is None:
        raise InvalidInput("error.no_deadline", task_id=task.id)
    if ctx.today > task.deadline:
        raise InvalidInput("error.extension_late", deadline=task.deadline.isoformat())
    if new_deadline <= task.deadline:
        raise InvalidInput(
            "error.extension_not_later",
            new=new_deadline.isoformat(),
            deadline=task.deadline.isoformat(),
        )
    reason = reason.strip()
    if not reason:
        raise InvalidInput("error.need_reason", action=render("action.extend", ctx.actor.lang))
    pending = ctx.session.exec(
        select(ExtensionRequest).where(
            ExtensionRequest.task_id == task_id,
            ExtensionRequest.status == ExtensionStatus.PENDING,
        )
    ).first()
    if pending is not None:
        raise InvalidInput("error.extension_pending", task_id=task.id)
    request = ExtensionRequest(
        task_id=task_id,
        requested_by_id=ctx.actor.official_id,
        old_deadline=task.deadline,
        new_deadline=new_deadline,
        reason=reason,
        created_at=ctx.now,
    )
    ctx.session.add(request)
    ctx.session.flush()
    audit.record(
        ctx,
        "extension_request",
        task_id=task.id,
        after={"request_id": request.id, "new_deadline": new_deadline, "reason": reason},
    )
    _event(
        ctx,
        task,
        None,
        "extension_requested",
        request_id=request.id,
        old=task.deadline.isoformat(),
        new=new_deadline.isoformat(),
        reason=reason,
    )
    return request


def get_extension(ctx: WorkContext, request_id: int, *, check_pending: bool) -> ExtensionRequest:
    """An extension request its decider may see, still undecided when `check_pending`."""
    request = ctx.session.get(ExtensionRequest, request_id)
    if request is None:
        raise NotFound(what=render("word.extension", ctx.actor.lang), ref=f"#{request_id}")
    task = get_task(ctx, request.task_id)
    require_supervisor(ctx, task, "action.decide_extension")
    refuse_own_task(ctx, task, "action.decide_extension")
    if check_pending and request.status != ExtensionStatus.PENDING:
        raise InvalidInput(
            "error.extension_decided",
            request_id=request_id,
            status=render(f"ext.{request.status}", ctx.actor.lang),
        )
    return request


def decide_extension(
    ctx: WorkContext, request_id: int, *, approve: bool, note: str = ""
) -> ExtensionRequest:
    """Approve, or refuse with a reason the owner receives (as 退回 needs one)."""
    request = get_extension(ctx, request_id, check_pending=True)
    task = get_task(ctx, request.task_id)
    if task.status == TaskStatus.CLOSED or task.kind == TaskKind.LONG_TERM:
        raise stale(
            ctx,
            "stale.task_changed",
            task_id=task.id,
            status=render(
                "kind.long_term" if task.status != TaskStatus.CLOSED else "status.closed",
                ctx.actor.lang,
            ),
        )
    if task.deadline != request.old_deadline:
        raise stale(
            ctx,
            "stale.deadline_changed",
            task_id=task.id,
            deadline=task.deadline.isoformat() if task.deadline else "—",
        )
    if not approve and not note.strip():
        raise InvalidInput(
            "error.need_reason", action=render("action.decide_extension", ctx.actor.lang)
        )
    before = audit.snapshot(task, TASK_FIELDS)
    request.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    request.decided_by_id = ctx.actor.official_id
    request.decided_at = ctx.now
    request.decision_note = note.strip()
    ctx.session.add(request)
    if approve:
        if task.original_deadline is None:
            task.original_deadline = task.deadline
        task.deadline = request.new_deadline
        task.escalation_level = 0
        _touch(ctx, task)
    audit.record(
        ctx,
        "extension_" + request.status.value,
        task_id=task.id,
        before=before,
        after={
            **audit.snapshot(task, TASK_FIELDS),
            "request_id": request_id,
            "note": request.decision_note,
        },
    )
    _event(
        ctx,
        task,
        Duty.OWNER,
        "extension_" + request.status.value,
        new=request.new_deadline.isoformat(),
        note=request.decision_note,
    )
    ctx.session.flush()
    return request


def check_evidence_size(ctx: WorkContext, size: int) -> None:
    """Refuse a file over the limit before anyone downloads it."""
    if size > ctx.settings.max_evidence_mb * 1024 * 1024:
        raise InvalidInput(
            "error.file_too_large",
            size_mb=round(size / 1024 / 1024, 1),
            limit_mb=ctx.settings.max_evidence_mb,
        )


def check_evidence(ctx: WorkContext, task: Task, size: int) -> None:
    """Whether this person may add a file of `size` to `task` now: asked before downloading."""
    require_owner(ctx, task)
    if task.status == TaskStatus.CLOSED:
        raise InvalidInput("error.closed_task", task_id=task.id)
    check_evidence_size(ctx, size)


def add_evidence(
    ctx: WorkContext,
    task_id: int,
    *,
    file_name: str,
    size: int,
    mime_type: str = "",
    sha256: str = "",
    channel: Channel | None = None,
    channel_file_id: str = "",
    channel_file_unique_id: str = "",
    local_path: str = "",
) -> Evidence:
    task = get_task(ctx, task_id)
    check_evidence(ctx, task, size)
    evidence = Evidence(
        task_id=task_id,
        uploaded_by_id=ctx.actor.official_id,
        file_name=file_name,
        size=size,
        mime_type=mime_type,
        sha256=sha256,
        channel=channel,
        channel_file_id=channel_file_id,
        channel_file_unique_id=channel_file_unique_id,
        local_path=local_path,
        created_at=ctx.now,
    )
    ctx.session.add(evidence)
    if task.status == TaskStatus.NOT_STARTED:
        task.status = TaskStatus.IN_PROGRESS
    _touch(ctx, task)
    ctx.session.flush()
    audit.record(
        ctx,
        "evidence",
        task_id=task.id,
        after={"evidence_id": evidence.id, "file_name": file_name, "sha256": sha256},
    )
    return evidence


def store_file(
    settings: Settings, folder_name: str, sha: str, name: str, data: bytes
) -> tuple[Path, bool]:
    """Evidence kept owner-only, one folder per task (or unsorted), named by its hash;
    (path, created)."""
    folder = settings.evidence_dir / folder_name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.evidence_dir.chmod(0o700)
    safe = re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", name)[-80:]
    path = folder / f"{sha[:16]}-{safe}"
    if path.exists():
        return path, False
    path.write_bytes(data)
    path.chmod(0o600)
    return path, True


def attach_file(
    ctx: WorkContext,
    task_id: int,
    *,
    file_name: str,
    data: bytes,
    mime_type: str = "",
    submit_note: str | None = None,
) -> Evidence:
    """An uploaded file as evidence: hashed, stored owner-only, recorded; with `submit_note`
    the task is also submitted (已完成). If anything is refused, no copy stays on disk."""
    task = get_task(ctx, task_id)
    check_evidence(ctx, task, len(data))
    sha = hashlib.sha256(data).hexdigest()
    local, created = store_file(ctx.settings, f"task-{task_id}", sha, file_name, data)
    try:
        evidence = add_evidence(
            ctx,
            task_id,
            file_name=file_name,
            size=len(data),
            mime_type=mime_type,
            sha256=sha,
            local_path=str(local),
        )
        if submit_note is not None:
            mark_submitted(ctx, task_id, submit_note)
    except LedgerError:
        if created:
            local.unlink(missing_ok=True)
        raise
    return evidence


def nudge(ctx: WorkContext, task_id: int) -> int:
    """一键催办: an immediate, recorded reminder to the owners from a supervisor or leader."""
    task = get_task(ctx, task_id)
    require_manager(ctx, task, "action.remind")
    if task.status not in OPEN_STATUSES:
        raise _refuse(
            ctx,
            task,
            "action.remind",
            "why.already_submitted"
            if task.status == TaskStatus.SUBMITTED
            else "why.already_closed",
        )
    assert task.id is not None
    owners = task_people(ctx.session, task.id, Duty.OWNER)
    cooldown = ctx.settings.policy.nudge_cooldown_minutes
    last = last_nudge(ctx, task.id) if cooldown else None
    if last is not None:  # one went out within the cooldown: one message, not two
        raise InvalidInput(
            "error.nudge_cooldown",
            task_id=task.id,
            at=_aware(last).astimezone(ctx.settings.zone).strftime("%H:%M"),
            minutes=cooldown,
        )
    audit.record(ctx, "nudge", task_id=task.id, after={"owners": [o.name for o in owners]})
    return notify(
        ctx.session,
        recipients=owners,
        kind=NoticeKind.NUDGE,
        task_id=task.id,
        text_key="notice.nudge",
        now=ctx.now,
        zone=ctx.settings.zone,
        quiet=None,
        params={
            **task_params(task, ctx.today, ctx.settings.policy.yellow_days),
            "by": ctx.actor.name,
        },
    )


def last_nudge(ctx: WorkContext, task_id: int) -> datetime | None:
    """When the task was last nudged within `policy.nudge_cooldown_minutes`, if it was."""
    since = ctx.now - timedelta(minutes=ctx.settings.policy.nudge_cooldown_minutes)
    stmt = select(func.max(AuditEvent.at)).where(
        AuditEvent.task_id == task_id, AuditEvent.action == "nudge", AuditEvent.at >= since
    )
    return ctx.session.exec(stmt).one()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
