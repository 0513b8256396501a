"""Traffic lights: computed from status, kind and deadline at a given local day, never stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.enums import Light, TaskKind, TaskStatus


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
