"""The sweep's oversight notices: who is told of which tasks, one notice per person.

A leader hears of their tasks whose owner was reminded near the deadline (level 0); a raised
task's 督办人 at level 1, its leaders and the heads who see it at level 2. Each person gets one
row counting every task they are told of and keeping the most urgent, built by one
INSERT … SELECT whatever the number of tasks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from ledger.db import COMPOUND_LIMIT, literal_table
from ledger.enums import OPEN_STATUSES, Duty, OfficialRole, TaskKind
from ledger.models import Official, Outbox, Task, TaskPerson
from ledger.notices import OVERSIGHT_KEPT
from ledger.outbox import insert_from_select, supervisor_pairs

OPEN = [s.value for s in OPEN_STATUSES]
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
TASKS = Task.__table__  # type: ignore[attr-defined]
PEOPLE = TaskPerson.__table__  # type: ignore[attr-defined]


def leaders_of(task_id: Any) -> Any:
    """Join condition: the 责任领导 rows of the task `task_id` names."""
    return sa.and_(PEOPLE.c.task_id == task_id, PEOPLE.c.duty == Duty.LEADER.value)


def leaders_due_soon(
    before_stages: list[dict[str, Any]], leader_from_days: int, sweep_id: int | None
) -> Any:
    """(task, leader, 0) for each task whose owner this sweep reminded `leader_from_days`
    or fewer days before the deadline: the tasks of those deadlines, each checked for
    this sweep's reminder by the outbox key (a re-run that queued no reminder tells no
    leader). None if no such deadline is in the horizon."""
    near = [
        {"deadline": s["deadline"], "stage": s["stage"]}
        for s in before_stages
        if s["params"]["stage"] <= leader_from_days
    ][:COMPOUND_LIMIT]
    if not near:
        return None
    table = literal_table(near, "near")
    reminded = sa.exists().where(
        OUTBOX.c.task_id == TASKS.c.id,
        OUTBOX.c.kind == "reminder",
        OUTBOX.c.stage == table.c.stage,
        OUTBOX.c.sweep_id + 0 == sweep_id,  # + 0: probe by the task key, not the sweep
    )
    return (
        sa.select(TASKS.c.id, PEOPLE.c.official_id, sa.literal(0), TASKS.c.deadline)
        .select_from(
            TASKS.join(table, TASKS.c.deadline == table.c.deadline).join(
                PEOPLE, leaders_of(TASKS.c.id)
            )
        )
        .where(TASKS.c.status.in_(OPEN), TASKS.c.kind != TaskKind.LONG_TERM.value, reminded)
    )


def escalation_told(session: Session, raised: Any, due_soon: Any) -> Any:
    """(task, person, level, deadline) for each person told of a raised task: its 督办人 at
    level 1, its leaders and the heads who see it at level 2, and `due_soon` (leaders at 0)."""
    to_supervisors = supervisor_pairs(session, sa.select(raised.c.task_id).where(raised.c.old < 1))
    told = [
        *([] if due_soon is None else [due_soon]),
        sa.select(
            to_supervisors.c.task_id,
            to_supervisors.c.official_id,
            sa.literal(1),
            raised.c.deadline,
        ).select_from(to_supervisors.join(raised, raised.c.task_id == to_supervisors.c.task_id)),
        sa.select(raised.c.task_id, PEOPLE.c.official_id, sa.literal(2), raised.c.deadline)
        .select_from(raised.join(PEOPLE, leaders_of(raised.c.task_id)))
        .where(raised.c.old < 2, raised.c.new >= 2),
    ]
    found = heads(session)
    if found:  # the heads who see the task: its lead unit's, and those with no unit
        table = literal_table(found, "heads")
        told.append(
            sa.select(raised.c.task_id, table.c.official_id, sa.literal(2), raised.c.deadline)
            .select_from(
                raised.join(table, sa.or_(table.c.unit == "", table.c.unit == raised.c.lead_unit))
            )
            .where(raised.c.old < 2, raised.c.new >= 2)
        )
    return sa.union_all(*told).subquery("told")


def heads(session: Session) -> list[dict[str, Any]]:
    """Everyone with the head role and their unit (a few people)."""
    found = [
        {"official_id": oid, "unit": unit or ""}
        for oid, unit in session.exec(
            select(Official.id, Official.unit).where(Official.role == OfficialRole.HEAD)
        )
    ]
    if len(found) > COMPOUND_LIMIT:
        raise ValueError(f"more than {COMPOUND_LIMIT} heads: not supported by the sweep")
    return found


def insert_oversight(
    session: Session,
    told: Any,
    *,
    sweep_id: int | None,
    today: date,
    now: datetime,
    merged: bool = False,
) -> int:
    """One row per person: how many tasks they are told of, the highest level, and the
    `OVERSIGHT_KEPT` most urgent (highest level, then earliest deadline) as items; the
    message lists the first of those still open and counts the rest, so a supervisor of
    100k tasks gets one small row, not a list of every task."""
    task_id, recipient, level, deadline = told.c  # (task, person, level, its deadline)
    if not merged:  # a person told of one task twice (two roles): the higher level
        level, deadline = sa.func.max(level), sa.func.max(deadline)
    per_task = (
        sa.select(
            recipient.label("recipient"),
            task_id.label("task_id"),
            level.label("level"),
            deadline.label("deadline"),
        )
        .group_by(*([] if merged else [recipient, task_id]))
        .subquery("per_task")
    )
    ranked = sa.select(
        *per_task.c,
        sa.func.row_number()
        .over(
            partition_by=per_task.c.recipient,
            order_by=[per_task.c.level.desc(), per_task.c.deadline, per_task.c.task_id],
        )
        .label("rank"),
    ).subquery("ranked")
    # each item: the task, the level told, and the deadline it was told for (render drops
    # an item whose task moved on since: closed, raised again, given a new deadline)
    fields = (
        "task_id",
        ranked.c.task_id,
        "level",
        ranked.c.level,
        "deadline",
        sa.cast(ranked.c.deadline, sa.String),
    )
    shown = ranked.c.rank <= OVERSIGHT_KEPT
    total = sa.func.max(ranked.c.rank)  # the rank of a person's last task: their count
    params: Any
    if session.get_bind().dialect.name == "postgresql":
        items = sa.func.json_agg(sa.func.json_build_object(*fields)).filter(shown)
        params = sa.cast(sa.func.json_build_object("items", items, "count", total), sa.Text)
    else:
        items = sa.func.json_group_array(sa.func.json_object(*fields)).filter(shown)
        params = sa.func.json_object("items", items, "count", total)
    top = sa.func.max(ranked.c.level)
    sweep_key = f"oversight:{sweep_id}:"
    return insert_from_select(
        session,
        sa.select(
            sa.literal(sweep_key) + sa.cast(ranked.c.recipient, sa.String),
            ranked.c.recipient,
            sa.literal("oversight"),
            sa.literal("oversight"),
            sa.null(),
            sa.literal(f"oversight:{today.isoformat()}"),
            3000 + top,
            sa.case((top > 0, "notice.oversight"), else_="notice.oversight_due"),
            params,
        ).group_by(ranked.c.recipient),
        now=now,
        sweep_id=sweep_id,
    )
