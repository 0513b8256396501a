"""Traffic lights: computed from status, kind and deadline at a given local day, never stored."""

from __future__ import annotations

from datetime import date

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


def days_overdue(deadline: date | None, today: date) -> int:
    """Calendar days past the deadline (0 when not overdue or no deadline)."""
    if deadline is None or deadline >= today:
        return 0
    return (today - deadline).days


LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2, Light.BLUE: 3, Light.CLOSED: 4}
