"""Synthetic ledgers of any size, bulk-inserted (about one official per 10 tasks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.migrate import upgrade
from ledger.models import Aspect, Contact, Official, Problem, Round, Task, TaskPerson

NOW = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai: no Monday digest
TODAY = date(2026, 11, 3)
BATCH = 20_000


def build(
    engine: Engine,
    tasks: int,
    *,
    due_fraction: float,
    overdue_fraction: float = 0.0,
    overdue_spread: int = 1,
    bound: bool = True,
) -> None:
    """`due_fraction` of tasks reach a reminder stage today (deadline in 3 days), an
    `overdue_fraction` are overdue (2 days, or 1 to `overdue_spread` days, mixed, so that
    the escalation ladder fires), the rest are due in 100 days (no notice)."""
    upgrade(engine)
    officials = max(tasks // 10, 2)
    leaders = max(officials // 20, 1)
    due = int(tasks * due_fraction)
    overdue = int(tasks * overdue_fraction)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Round),
            [
                {
                    "id": 1,
                    "name": "基准",
                    "inspected_unit": "",
                    "inspection_group": "",
                    "created_at": NOW,
                }
            ],
        )
        conn.execute(
            sa.insert(Aspect),
            [{"id": a, "round_id": 1, "number": a, "title": f"方面{a}"} for a in range(1, 7)],
        )
        conn.execute(
            sa.insert(Problem),
            [
                {
                    "id": p,
                    "aspect_id": (p - 1) % 6 + 1,
                    "number": p,
                    "position": p,
                    "title": f"问题{p}",
                }
                for p in range(1, 61)
            ],
        )
        for start in range(1, officials + 1, BATCH):
            conn.execute(
                sa.insert(Official),
                [
                    {
                        "id": i,
                        "name": f"人员{i}",
                        "unit": f"单位{i % 50}",
                        "title": "",
                        "role": "leader"
                        if i <= leaders
                        else ("supervisor" if i == leaders + 1 else "owner"),
                        "language": "zh",
                        "created_at": NOW,
                    }
                    for i in range(start, min(start + BATCH, officials + 1))
                ],
            )
            contacts = [
                {
                    "official_id": i,
                    "channel": "telegram",
                    "address": str(10_000_000 + i),
                    "reachable": True,
                    "preferred": False,
                    "bound_at": NOW,
                }
                for i in range(start, min(start + BATCH, officials + 1))
                if bound
            ]
            if contacts:
                conn.execute(sa.insert(Contact), contacts)
        for start in range(1, tasks + 1, BATCH):
            ids = range(start, min(start + BATCH, tasks + 1))
            conn.execute(
                sa.insert(Task),
                [
                    {
                        "id": t,
                        "round_id": 1,
                        "problem_id": (t - 1) % 60 + 1,
                        "ref": str(t),
                        "position": t,
                        "title": f"整改任务{t}",
                        "measures": "",
                        "target": "",
                        "kind": "deadline",
                        "role": "lead",
                        "lead_unit": f"单位{t % 50}",
                        "participating_units": "",
                        "deadline": TODAY + timedelta(days=3)
                        if t <= due
                        else TODAY
                        - timedelta(days=2 if overdue_spread == 1 else 1 + t % overdue_spread)
                        if t <= due + overdue
                        else TODAY + timedelta(days=100),
                        "status": "in_progress",
                        "completion_note": "",
                        "closing_opinion": "",
                        "escalation_level": 0,
                        "notes": "",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for t in ids
                ],
            )
            conn.execute(
                sa.insert(TaskPerson),
                [
                    row
                    for t in ids
                    for row in (
                        {
                            "task_id": t,
                            "official_id": leaders + 2 + (t % (officials - leaders - 1)),
                            "duty": "owner",
                            "position": 0,
                        },
                        {
                            "task_id": t,
                            "official_id": 1 + t % leaders,
                            "duty": "leader",
                            "position": 0,
                        },
                        {
                            "task_id": t,
                            "official_id": leaders + 1,
                            "duty": "supervisor",
                            "position": 0,
                        },
                    )
                ],
            )
    if engine.dialect.name == "postgresql":
        # autovacuum gathers planner statistics after a bulk load in production; do it now
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
