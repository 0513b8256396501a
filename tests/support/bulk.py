"""Rows for bulk inserts, for tests and benchmarks that need thousands of people or messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ledger.models import Contact, Official


def insert_bound_officials(
    connection: Any, count: int, *, now: datetime, chat_base: int, name: str = "人员"
) -> None:
    """Owners 1..count, each bound on Telegram as user (and private chat) `chat_base + id`."""
    connection.execute(
        sa.insert(Official),
        [
            {
                "id": i,
                "name": f"{name}{i}",
                "unit": "",
                "title": "",
                "role": "owner",
                "language": "zh",
                "created_at": now,
            }
            for i in range(1, count + 1)
        ],
    )
    connection.execute(
        sa.insert(Contact),
        [
            {
                "official_id": i,
                "channel": "telegram",
                "address": str(chat_base + i),
                "reachable": True,
                "preferred": False,
                "bound_at": now,
            }
            for i in range(1, count + 1)
        ],
    )


def pending_nudges(count: int, *, now: datetime, by: str) -> list[Any]:
    """One pending nudge (催办) to each of officials 1..count, due at `now`."""
    return [
        {
            "dedupe_key": f"nudge:{i}",
            "channel": "telegram",
            "recipient_id": i,
            "kind": "nudge",
            "family": "nudge",
            "stage": "",
            "urgency": 0,
            "text_key": "notice.nudge",
            "params": {"task_id": i, "title": f"任务{i}", "by": by},
            "not_before": now,
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "claimed_by": "",
            "created_at": now,
        }
        for i in range(1, count + 1)
    ]
