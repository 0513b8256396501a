from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ledger.clock import local_date
from ledger.enums import Light, TaskKind, TaskStatus
from ledger.lights import traffic_light

D = date(2026, 12, 31)
OPEN, SUB, CLOSED = TaskStatus.IN_PROGRESS, TaskStatus.SUBMITTED, TaskStatus.CLOSED
DL, LT = TaskKind.DEADLINE, TaskKind.LONG_TERM


@pytest.mark.parametrize(
    ("status", "kind", "deadline", "today", "expected"),
    [
        (OPEN, DL, D, date(2026, 12, 20), Light.GREEN),  # 11 days left
        (OPEN, DL, D, date(2026, 12, 21), Light.YELLOW),  # exactly yellow_days left
        (OPEN, DL, D, D, Light.YELLOW),  # due today is not overdue
        (OPEN, DL, D, date(2027, 1, 1), Light.RED),  # the day after
        (TaskStatus.NOT_STARTED, DL, D, date(2027, 3, 1), Light.RED),
        (SUB, DL, D, date(2026, 11, 1), Light.YELLOW),  # awaiting verification
        (SUB, DL, D, date(2027, 1, 5), Light.YELLOW),  # submitted, supervisor's turn
        (CLOSED, DL, D, date(2027, 1, 5), Light.CLOSED),
        (OPEN, LT, None, date(2027, 1, 5), Light.BLUE),
        (CLOSED, LT, None, date(2027, 1, 5), Light.CLOSED),
    ],
)
def test_light_rules(status, kind, deadline, today, expected):
    assert (
        traffic_light(status=status, kind=kind, deadline=deadline, today=today, yellow_days=10)
        == expected
    )


def test_light_turns_red_at_local_midnight_not_utc_midnight():
    zone = ZoneInfo("Asia/Shanghai")
    before = datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on the 31st in Shanghai
    after = datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC)  # 00:00 on 1 January in Shanghai

    def light(now):
        today = local_date(now, zone)
        return traffic_light(status=OPEN, kind=DL, deadline=D, today=today, yellow_days=10)

    assert light(before) == Light.YELLOW
    assert light(after) == Light.RED
