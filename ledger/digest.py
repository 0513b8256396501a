"""The weekly digest's figures (一周一调度), as ledger functions any surface can call: the
sweep queues them, a dashboard can show them. Each is a few grouped queries, whatever the size."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from ledger.enums import Duty
from ledger.lights import red_sql
from ledger.models import Official, Task, TaskPerson
from ledger.queries import LIGHT_COUNTS, WEEKLY_CHANGES, light_counts, weekly_changes

TASKS = Task.__table__  # type: ignore[attr-defined]
PEOPLE = TaskPerson.__table__  # type: ignore[attr-defined]
RED_LISTED = 10  # red items a digest names


def red_condition(today: date) -> Any:
    """Overdue (🔴): open, with a deadline, past it on `today`."""
    return red_sql(TASKS.c.status, TASKS.c.kind, TASKS.c.deadline, today)


def empty_figures() -> dict[str, Any]:
    return {**dict.fromkeys((*LIGHT_COUNTS, *WEEKLY_CHANGES), 0), "red_items": []}


def red_items(session: Session, task_ids: list[int], today: date) -> dict[int, dict[str, Any]]:
    """The digest's line for each red task: id, title, owners, days overdue."""
    if not task_ids:
        return {}
    items: dict[int, dict[str, Any]] = {}
    for start in range(0, len(task_ids), 900):
        chunk = task_ids[start : start + 900]
        for task_id, title, deadline in session.execute(
            sa.select(TASKS.c.id, TASKS.c.title, TASKS.c.deadline).where(TASKS.c.id.in_(chunk))
        ):
            items[task_id] = {
                "task_id": task_id,
                "title": title,
                "owners": [],
                "overdue": (today - deadline).days if deadline else 0,
            }
        officials = Official.__table__  # type: ignore[attr-defined]
        for task_id, name in session.execute(
            sa.select(PEOPLE.c.task_id, officials.c.name)
            .join(officials, officials.c.id == PEOPLE.c.official_id)
            .where(PEOPLE.c.task_id.in_(chunk), PEOPLE.c.duty == Duty.OWNER.value)
            .order_by(PEOPLE.c.task_id, PEOPLE.c.position)
        ):
            items[task_id]["owners"].append(name)
    return items


def digest_figures(
    session: Session, *, today: date, now: datetime, yellow_days: int, scope: Any = None
) -> dict[str, Any]:
    """Lights, statuses, this week's changes and the first red items, within `scope` (an SQL
    condition on tasks, e.g. `ledger.access.manages_filter`; None: everything)."""
    figures = empty_figures()
    counts = light_counts(session, today=today, yellow_days=yellow_days, scope=scope)
    figures.update(counts.get(None, {}))
    figures.update(weekly_changes(session, today=today, now=now, scope=scope).get(None, {}))
    condition = red_condition(today) if scope is None else sa.and_(red_condition(today), scope)
    red = list(
        session.execute(
            sa.select(TASKS.c.id)
            .where(condition)
            .order_by(TASKS.c.deadline, TASKS.c.id)
            .limit(RED_LISTED)
        ).scalars()
    )
    items = red_items(session, red, today)
    figures["red_items"] = [items[i] for i in red if i in items]
    return figures


def leader_figures(
    session: Session, *, today: date, now: datetime, yellow_days: int
) -> dict[int, dict[str, Any]]:
    """Every leader's figures, scoped to the tasks they lead, in a handful of queries."""
    counts = light_counts(session, today=today, yellow_days=yellow_days, by_leader=True)
    changes = weekly_changes(session, today=today, now=now, by_leader=True)
    red_rows = session.execute(
        sa.select(PEOPLE.c.official_id, TASKS.c.id)
        .join(PEOPLE, sa.and_(PEOPLE.c.task_id == TASKS.c.id, PEOPLE.c.duty == Duty.LEADER.value))
        .where(red_condition(today))
        .order_by(PEOPLE.c.official_id, TASKS.c.deadline, TASKS.c.id)
    ).all()
    red_by_leader: dict[int, list[int]] = defaultdict(list)
    for leader, task_id in red_rows:
        if len(red_by_leader[leader]) < RED_LISTED:
            red_by_leader[leader].append(task_id)
    items = red_items(session, sorted({t for ids in red_by_leader.values() for t in ids}), today)
    result: dict[int, dict[str, Any]] = {}
    for leader in set(counts) | set(changes) | set(red_by_leader):
        if leader is None:
            continue
        figures = empty_figures()
        figures.update(counts.get(leader, {}))
        figures.update(changes.get(leader, {}))
        figures["red_items"] = [items[t] for t in red_by_leader.get(leader, []) if t in items]
        result[leader] = figures
    return result
