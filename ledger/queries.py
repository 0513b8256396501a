"""Read models: tasks with their light, people and latest progress, filtered and scoped in SQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from ledger.enums import Duty, Light, TaskKind, TaskStatus
from ledger.lights import days_overdue, green_sql, light_of, open_sql, red_sql, yellow_sql
from ledger.models import (
    Aspect,
    AuditEvent,
    Evidence,
    Official,
    Problem,
    ProgressReport,
    Round,
    Task,
    TaskPerson,
)
from ledger.names import clean_name


@dataclass
class TaskView:
    task: Task
    round_name: str
    aspect: Aspect
    problem: Problem
    light: Light
    days_overdue: int
    days_left: int | None
    today: date
    owners: list[str] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)
    supervisors: list[str] = field(default_factory=list)
    latest_progress: str = ""
    evidence_count: int = 0

    @property
    def id(self) -> int:
        assert self.task.id is not None
        return self.task.id


@dataclass
class TaskFilter:
    round_name: str | None = None
    overdue: bool = False
    due_within_days: int | None = None
    owner_name: str | None = None
    awaiting_verification: bool = False
    open_only: bool = False
    scope: Any = None  # a SQL condition from ledger.access
    task_ids: list[int] | None = None


def _conditions(session: Session, flt: TaskFilter, today: date) -> list[Any]:
    conds: list[Any] = []
    if flt.round_name:
        round_id = session.exec(select(Round.id).where(Round.name == flt.round_name)).first()
        conds.append(Task.round_id == (round_id or -1))
    if flt.overdue:
        conds.append(red_sql(col(Task.status), col(Task.kind), col(Task.deadline), today))
    if flt.due_within_days is not None:
        conds.append(open_sql(col(Task.status)))
        conds.append(col(Task.deadline) >= today)
        conds.append(col(Task.deadline) <= today + timedelta(days=flt.due_within_days))
    if flt.awaiting_verification:
        conds.append(Task.status == TaskStatus.SUBMITTED)
    if flt.open_only:
        conds.append(Task.status != TaskStatus.CLOSED)
    if flt.owner_name:
        owned = (
            select(TaskPerson.task_id)
            .join(Official, Official.id == TaskPerson.official_id)  # type: ignore[arg-type]
            .where(Official.name == clean_name(flt.owner_name), TaskPerson.duty == Duty.OWNER)
        )
        conds.append(col(Task.id).in_(owned))
    if flt.scope is not None:
        conds.append(flt.scope)
    if flt.task_ids is not None:
        conds.append(col(Task.id).in_(flt.task_ids))
    return conds


def count_tasks(session: Session, flt: TaskFilter, today: date) -> int:
    stmt = select(func.count()).select_from(Task).where(*_conditions(session, flt, today))
    return int(session.exec(stmt).one())


def list_tasks(
    session: Session,
    flt: TaskFilter,
    *,
    today: date,
    yellow_days: int,
    order: str = "ledger",
    limit: int | None = None,
    offset: int = 0,
) -> list[TaskView]:
    """Tasks matching `flt`, in ledger order or most overdue first, with everything a row shows."""
    stmt = _ordered(
        select(Task, Round.name, Aspect, Problem), session, flt, today=today, order=order
    )
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = list(session.exec(stmt))
    ids = [t.id for t, *_ in rows]
    people = _people(session, ids)
    progress = _latest_progress(session, ids)
    evidence = _evidence_counts(session, ids)
    views = []
    for task, round_name, aspect, problem in rows:
        assert task.id is not None
        light = light_of(task, today, yellow_days)
        days_left = (task.deadline - today).days if task.deadline else None
        views.append(
            TaskView(
                task=task,
                round_name=round_name,
                aspect=aspect,
                problem=problem,
                light=light,
                days_overdue=days_overdue(task.deadline, today)
                if task.status != TaskStatus.CLOSED
                else 0,
                days_left=days_left,
                today=today,
                owners=people[task.id][Duty.OWNER],
                leaders=people[task.id][Duty.LEADER],
                supervisors=people[task.id][Duty.SUPERVISOR],
                latest_progress=progress.get(task.id, ""),
                evidence_count=evidence.get(task.id, 0),
            )
        )
    return views


def task_ids(session: Session, flt: TaskFilter, *, today: date, order: str = "ledger") -> list[int]:
    """The ids `list_tasks` would show, in its order: a large read (the export) then takes
    their views a slice at a time (`TaskFilter(task_ids=…)`) instead of holding them all."""
    return list(session.exec(_ordered(select(Task.id), session, flt, today=today, order=order)))


def _ordered(stmt: Any, session: Session, flt: TaskFilter, *, today: date, order: str) -> Any:
    stmt = (
        stmt.join(Round, Round.id == Task.round_id)
        .join(Problem, Problem.id == Task.problem_id)
        .join(Aspect, Aspect.id == Problem.aspect_id)
        .where(*_conditions(session, flt, today))
    )
    if order == "overdue":
        return stmt.order_by(col(Task.deadline), col(Task.id))
    if order == "deadline":
        return stmt.order_by(sa.nulls_last(col(Task.deadline)), col(Task.id))
    return stmt.order_by(
        col(Round.id),
        col(Aspect.number),
        col(Problem.position),
        col(Task.position),
        col(Task.id),
    )


def _people(session: Session, ids: list[Any]) -> dict[int, dict[Duty, list[str]]]:
    result: dict[int, dict[Duty, list[str]]] = defaultdict(lambda: defaultdict(list))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        stmt = (
            select(TaskPerson.task_id, TaskPerson.duty, Official.name)
            .join(Official, Official.id == TaskPerson.official_id)  # type: ignore[arg-type]
            .where(col(TaskPerson.task_id).in_(chunk))
            .order_by(col(TaskPerson.position))
        )
        for task_id, duty, name in session.exec(stmt):
            result[task_id][Duty(duty)].append(name)
    return result


def _latest_progress(session: Session, ids: list[Any]) -> dict[int, str]:
    result: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        latest = (
            select(ProgressReport.task_id, func.max(ProgressReport.id).label("last_id"))
            .where(col(ProgressReport.task_id).in_(chunk))
            .group_by(col(ProgressReport.task_id))
            .subquery()
        )
        stmt = select(ProgressReport.task_id, ProgressReport.text).join(
            latest, latest.c.last_id == ProgressReport.id
        )
        for task_id, text in session.exec(stmt):
            result[task_id] = text
    return result


def _evidence_counts(session: Session, ids: list[Any]) -> dict[int, int]:
    result: dict[int, int] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        stmt = (
            select(Evidence.task_id, func.count())
            .where(col(Evidence.task_id).in_(chunk))
            .group_by(col(Evidence.task_id))
        )
        for task_id, count in session.exec(stmt):
            result[task_id] = int(count)
    return result


def task_view(session: Session, task_id: int, *, today: date, yellow_days: int) -> TaskView | None:
    views = list_tasks(
        session, TaskFilter(task_ids=[task_id]), today=today, yellow_days=yellow_days
    )
    return views[0] if views else None


@dataclass
class AspectStats:
    number: int
    title: str
    problems: int = 0
    total: int = 0
    closed: int = 0
    not_started: int = 0
    in_progress: int = 0
    submitted: int = 0
    long_term: int = 0
    overdue: int = 0


def stats(
    session: Session, *, today: date, round_name: str | None = None, scope: Any = None
) -> list[AspectStats]:
    """Counts by aspect (total, closed, in progress, long-term, overdue), computed in SQL."""
    status, kind, deadline = col(Task.status), col(Task.kind), col(Task.deadline)
    conds = _conditions(session, TaskFilter(round_name=round_name, scope=scope), today)
    is_long = kind == TaskKind.LONG_TERM

    def tally(condition: Any) -> Any:
        return func.sum(sa.case((condition, 1), else_=0))

    stmt = (
        sa.select(
            col(Aspect.id),
            col(Aspect.number),
            col(Aspect.title),
            col(Round.id),
            func.count(col(Task.id)),
            func.count(sa.distinct(col(Problem.id))),
            tally(status == TaskStatus.CLOSED),
            tally(sa.and_(status == TaskStatus.NOT_STARTED, ~is_long)),
            tally(sa.and_(status == TaskStatus.IN_PROGRESS, ~is_long)),
            tally(status == TaskStatus.SUBMITTED),
            tally(sa.and_(is_long, status != TaskStatus.CLOSED)),
            tally(red_sql(status, kind, deadline, today)),
        )
        .join(Problem, col(Problem.aspect_id) == col(Aspect.id))
        .join(Task, col(Task.problem_id) == col(Problem.id))
        .join(Round, col(Round.id) == col(Aspect.round_id))
        .where(*conds)
        .group_by(col(Aspect.id), col(Aspect.number), col(Aspect.title), col(Round.id))
        .order_by(col(Round.id), col(Aspect.number))
    )
    result = []
    for (
        _aid,
        number,
        title,
        _rid,
        total,
        problems,
        closed,
        not_started,
        in_prog,
        submitted,
        long_term,
        overdue,
    ) in session.execute(stmt):
        result.append(
            AspectStats(
                number=number,
                title=title,
                problems=int(problems),
                total=int(total),
                closed=int(closed or 0),
                not_started=int(not_started or 0),
                in_progress=int(in_prog or 0),
                submitted=int(submitted or 0),
                long_term=int(long_term or 0),
                overdue=int(overdue or 0),
            )
        )
    return result


def history(session: Session, task_id: int, limit: int = 30) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.task_id == task_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    return list(reversed(list(session.exec(stmt))))


LIGHT_COUNTS = (
    "total",
    "red",
    "yellow",
    "green",
    "blue",
    "closed",
    "not_started",
    "in_progress",
    "submitted",
)
WEEKLY_CHANGES = ("new_closed", "new_submitted", "new_overdue")


def _leader_of_task() -> Any:
    return sa.and_(col(TaskPerson.task_id) == col(Task.id), col(TaskPerson.duty) == Duty.LEADER)


def light_counts(
    session: Session, *, today: date, yellow_days: int, scope: Any = None, by_leader: bool = False
) -> dict[int | None, dict[str, int]]:
    """How many tasks show each light and status, in one aggregate query.

    Keyed by None, or with `by_leader` by each leader's official id (one query for all leaders).
    """
    status, kind, deadline = col(Task.status), col(Task.kind), col(Task.deadline)
    long_ = kind == TaskKind.LONG_TERM
    not_closed = status != TaskStatus.CLOSED

    def tally(condition: Any) -> Any:
        return func.coalesce(func.sum(sa.case((condition, 1), else_=0)), 0)

    key: Any = col(TaskPerson.official_id) if by_leader else sa.null()
    stmt = sa.select(
        key,
        func.count(col(Task.id)),
        tally(red_sql(status, kind, deadline, today)),
        tally(yellow_sql(status, kind, deadline, today, yellow_days)),
        tally(green_sql(status, kind, deadline, today, yellow_days)),
        tally(sa.and_(not_closed, long_)),
        tally(status == TaskStatus.CLOSED),
        tally(status == TaskStatus.NOT_STARTED),
        tally(status == TaskStatus.IN_PROGRESS),
        tally(status == TaskStatus.SUBMITTED),
    ).select_from(Task)
    if by_leader:
        stmt = stmt.join(TaskPerson, _leader_of_task()).group_by(key)
    if scope is not None:
        stmt = stmt.where(scope)
    return {
        row[0]: {name: int(value or 0) for name, value in zip(LIGHT_COUNTS, row[1:], strict=True)}
        for row in session.execute(stmt)
    }


def weekly_changes(
    session: Session, *, today: date, now: Any, scope: Any = None, by_leader: bool = False
) -> dict[int | None, dict[str, int]]:
    """What moved in the last seven days: closings, submissions, newly overdue items."""
    since = now - timedelta(days=7)
    key: Any = col(TaskPerson.official_id) if by_leader else sa.null()
    events = (
        sa.select(key, col(AuditEvent.action), func.count())
        .select_from(AuditEvent)
        .join(Task, col(Task.id) == col(AuditEvent.task_id))
        .where(col(AuditEvent.at) >= since, col(AuditEvent.action).in_(["verify", "submit"]))
        .group_by(*([key] if by_leader else []), col(AuditEvent.action))
    )
    newly = (
        sa.select(key, func.count(col(Task.id)))
        .select_from(Task)
        .where(
            open_sql(col(Task.status)),
            col(Task.deadline) < today,
            col(Task.deadline) >= today - timedelta(days=7),
        )
        .group_by(*([key] if by_leader else []))
    )
    if by_leader:
        events = events.join(TaskPerson, _leader_of_task())
        newly = newly.join(TaskPerson, _leader_of_task())
    if scope is not None:
        events = events.where(scope)
        newly = newly.where(scope)
    result: dict[int | None, dict[str, int]] = {}

    def entry(owner: int | None) -> dict[str, int]:
        return result.setdefault(owner, dict.fromkeys(WEEKLY_CHANGES, 0))

    for owner, action, count in session.execute(events):
        entry(owner)["new_closed" if action == "verify" else "new_submitted"] = int(count)
    for owner, count in session.execute(newly):
        entry(owner)["new_overdue"] = int(count)
    return result
