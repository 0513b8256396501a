"""Traffic lights: computed from status, kind and deadline at a given local day, never stored."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from ledger.enums import OPEN_STATUSES, Light, TaskKind, TaskStatus


def traffic_light(
    *, status: TaskStatus, kind: TaskKind, deadline: date | None, today: date, yellow_days: int
) -> Light:
    if status == TaskStatus.CLOSED:
        return Light.CLOSED
    if kind == TaskKind.LONG_TERM or deadline is None:
        return Light.BLUE
    if status == TaskStatus.SUBMITTED:
        return Light.YELLOW  # done but not yet verified: the supervisor's move
    if deadline < today:
        return Light.RED
    if (deadline - today).days <= yellow_days:
        return Light.YELLOW
    return Light.GREEN


def light_of(task: Any, today: date, yellow_days: int) -> Light:
    """The light of anything with status, kind and deadline (a Task or a sweep row)."""
    return traffic_light(
        status=TaskStatus(task.status),
        kind=TaskKind(task.kind),
        deadline=task.deadline,
        today=today,
        yellow_days=yellow_days,
    )


def days_overdue(deadline: date | None, today: date) -> int:
    """Calendar days past the deadline (0 when not overdue or no deadline)."""
    if deadline is None or deadline >= today:
        return 0
    return (today - deadline).days


# --- the same rules in SQL, on the columns given (a Task's, or a sweep's table) -------------
def open_sql(status: Any) -> Any:
    """Open: not started or in progress (`OPEN_STATUSES`)."""
    return status.in_([s.value for s in OPEN_STATUSES])


def red_sql(status: Any, kind: Any, deadline: Any, today: date) -> Any:
    """Red: open, with a deadline, past it."""
    return sa.and_(open_sql(status), kind != TaskKind.LONG_TERM.value, deadline < today)


def yellow_sql(status: Any, kind: Any, deadline: Any, today: date, yellow_days: int) -> Any:
    """Yellow: submitted (awaiting 销号), or open and due within `yellow_days`."""
    until = today + timedelta(days=yellow_days)
    due_soon = sa.and_(open_sql(status), deadline >= today, deadline <= until)
    return sa.and_(
        status != TaskStatus.CLOSED.value,
        kind != TaskKind.LONG_TERM.value,
        deadline.is_not(None),
        sa.or_(status == TaskStatus.SUBMITTED.value, due_soon),
    )


def green_sql(status: Any, kind: Any, deadline: Any, today: date, yellow_days: int) -> Any:
    """Green: open and due after the yellow window."""
    until = today + timedelta(days=yellow_days)
    return sa.and_(open_sql(status), kind != TaskKind.LONG_TERM.value, deadline > until)
