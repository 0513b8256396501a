"""The read side: every answer built from what the asking person may see, scoped here, once.

Surfaces (chat, CLI, the coming web) pass the actor's context and get only the tasks, figures
and names within that person's scope; none of them scopes by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ledger.access import is_owner, manages_filter, require_view
from ledger.contacts import bound, contacts_by_official
from ledger.context import WorkContext
from ledger.enums import Duty
from ledger.errors import NotAllowed, NotFound
from ledger.exporter import export_ledger
from ledger.i18n import render
from ledger.lifecycle import get_task
from ledger.models import AuditEvent, Contact, Evidence, Official, Task, TaskPerson
from ledger.officials import list_officials
from ledger.queries import (
    AspectStats,
    TaskFilter,
    TaskView,
    count_tasks,
    history,
    list_tasks,
    stats,
    task_view,
)
from ledger.reports import ReportData, gather


def scope_of(session: Session, official: Official | None) -> Any:
    """A SQL condition on Task: what `official` may see; None (the operator) sees everything.

    Managers see what they oversee (ledger.access.manages_filter); everyone sees what they own.
    """
    if official is None:
        return None
    assert official.id is not None
    owned = select(TaskPerson.task_id).where(
        TaskPerson.official_id == official.id, TaskPerson.duty == Duty.OWNER
    )
    return sa.or_(manages_filter(session, official), col(Task.id).in_(owned))


def actor_scope(ctx: WorkContext) -> Any:
    if ctx.actor.is_operator:
        return None
    return scope_of(ctx.session, ctx.actor.official)


def scoped(ctx: WorkContext, flt: TaskFilter) -> TaskFilter:
    scope = actor_scope(ctx)
    if scope is None:
        return flt
    combined = scope if flt.scope is None else sa.and_(flt.scope, scope)
    return TaskFilter(**{**flt.__dict__, "scope": combined})


def task_list(
    ctx: WorkContext,
    flt: TaskFilter,
    *,
    order: str = "ledger",
    limit: int | None = None,
    offset: int = 0,
) -> list[TaskView]:
    return list_tasks(
        ctx.session,
        scoped(ctx, flt),
        today=ctx.today,
        yellow_days=ctx.settings.policy.yellow_days,
        order=order,
        limit=limit,
        offset=offset,
    )


def task_count(ctx: WorkContext, flt: TaskFilter) -> int:
    return count_tasks(ctx.session, scoped(ctx, flt), ctx.today)


@dataclass
class TaskDetail:
    view: TaskView
    events: list[AuditEvent]
    evidence: list[Evidence]
    acts_as_owner: bool  # the viewer gets the owner's actions (they own it, or the operator)


def task_detail(ctx: WorkContext, task_id: int, *, events: int = 10) -> TaskDetail:
    """One task as its viewer sees it: the row, recent history and the evidence files."""
    task = get_task(ctx, task_id)
    require_view(ctx, task)
    view = task_view(
        ctx.session, task_id, today=ctx.today, yellow_days=ctx.settings.policy.yellow_days
    )
    assert view is not None
    official = ctx.actor.official
    return TaskDetail(
        view=view,
        events=history(ctx.session, task_id, limit=events),
        evidence=evidence_of(ctx.session, [task_id]),
        acts_as_owner=ctx.actor.is_operator
        or (official is not None and is_owner(ctx.session, official, task)),
    )


def evidence_of(session: Session, task_ids: list[int]) -> list[Evidence]:
    if not task_ids:
        return []
    stmt = (
        select(Evidence)
        .where(col(Evidence.task_id).in_(task_ids))
        .order_by(col(Evidence.task_id), col(Evidence.id))
    )
    return list(session.exec(stmt))


def evidence_file(ctx: WorkContext, evidence_id: int) -> Evidence:
    """An evidence file for someone who may see its task (supervisors judging before 销号)."""
    evidence = ctx.session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(what=render("word.evidence", ctx.actor.lang), ref=f"#{evidence_id}")
    require_view(ctx, get_task(ctx, evidence.task_id))
    return evidence


def aspect_stats(ctx: WorkContext, round_name: str | None = None) -> list[AspectStats]:
    return stats(ctx.session, today=ctx.today, round_name=round_name, scope=actor_scope(ctx))


def export(ctx: WorkContext, path: Path, round_name: str | None = None) -> int:
    return export_ledger(
        ctx.session,
        path,
        today=ctx.today,
        yellow_days=ctx.settings.policy.yellow_days,
        round_name=round_name,
        scope=actor_scope(ctx),
    )


def latest_round(ctx: WorkContext) -> str | None:
    """The newest round with a task the actor may see."""
    views = task_list(ctx, TaskFilter(), order="ledger")
    if not views:
        return None
    return max(views, key=lambda v: v.task.round_id).round_name


def report_data(ctx: WorkContext, round_name: str) -> ReportData:
    return gather(
        ctx.session,
        round_name,
        today=ctx.today,
        yellow_days=ctx.settings.policy.yellow_days,
        scope=actor_scope(ctx),
        zone=ctx.settings.zone,
        report=ctx.settings.report,
    )


def open_tasks_of(ctx: WorkContext) -> list[TaskView]:
    """The actor's own open tasks: what an unthreaded reply may be about."""
    official = ctx.actor.official
    if official is None:
        return []
    return task_list(
        ctx, TaskFilter(owner_name=official.name, open_only=True), order="deadline", limit=20
    )


def unbound_names(session: Session, scope: Any, *, limit: int = 40) -> list[str]:
    """People on tasks within `scope` with no reachable contact (the digest's unbound line)."""
    stmt = select(Official.name).where(~bound(col(Official.id)))
    if scope is not None:
        on_tasks = (
            select(TaskPerson.official_id)
            .join(Task, col(Task.id) == col(TaskPerson.task_id))
            .where(scope)
        )
        stmt = stmt.where(col(Official.id).in_(on_tasks))
    return list(session.exec(stmt.distinct().order_by(col(Official.name)).limit(limit)))


@dataclass(frozen=True)
class OfficialView:
    """A person as the officials list shows them: how they are reached, and what was refused."""

    official: Official
    contacts: list[Contact]
    refused: int

    @property
    def bound(self) -> bool:
        return any(c.reachable for c in self.contacts)


def officials(ctx: WorkContext) -> list[OfficialView]:
    """Everyone, with their contacts (`ledgerbot officials`; the web's people page): for the
    operator and admins only, as contacts are personal data."""
    from ledger.delivery import refused_counts

    if not ctx.actor.is_operator:
        raise NotAllowed(why=render("why.needs_role", ctx.actor.lang, roles=render("orole.admin")))
    refused = refused_counts(ctx.session)
    reached = contacts_by_official(ctx.session)
    return [
        OfficialView(o, reached.get(o.id or 0, []), refused.get(o.id or 0, 0))
        for o in list_officials(ctx.session)
    ]
