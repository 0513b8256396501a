"""`ledgerbot demo`: the sample ledger in a temporary database, with no token and no network."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, time
from pathlib import Path

from sqlmodel import select

from cli.main import print_summary, print_tasks
from config import load_settings
from ledger import sample
from ledger.clock import FakeClock
from ledger.context import Actor, WorkContext
from ledger.db import create_schema, make_engine, session_scope
from ledger.enums import OfficialRole, Via
from ledger.importer import RoundOptions, import_file
from ledger.models import Official
from ledger.queries import TaskFilter, list_tasks


def run_demo(*, days: int = 45, quiet: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="ledgerbot-demo-") as tmp:
        folder = Path(tmp)
        settings = load_settings(
            database_url=f"sqlite:///{folder / 'demo.db'}", evidence_dir=folder / "evidence"
        )
        zone = settings.zone
        start_day = datetime.now(zone).date()
        clock = FakeClock(datetime.combine(start_day, time(9, 0), tzinfo=zone).astimezone(UTC))
        engine = make_engine(settings.database_url)
        create_schema(engine)
        sheet = sample.write_sample(folder / "整改台账.xlsx", start_day)
        print(f"== 整改台账演示 (ledgerbot demo) — {start_day.isoformat()} ==")
        print(
            f"示例台账：{sample.INSPECTED_UNIT}，{sample.INSPECTION_GROUP}反馈 6个方面10个具体问题\n"
        )
        with session_scope(engine) as session:
            ctx = WorkContext(
                session=session, now=clock.now(), actor=Actor(via=Via.CLI), settings=settings
            )
            options = RoundOptions(
                name=sample.ROUND_NAME,
                inspected_unit=sample.INSPECTED_UNIT,
                inspection_group=sample.INSPECTION_GROUP,
                feedback_date=start_day.replace(day=1),
            )
            summary = import_file(ctx, sheet, options)
            head_name, unit, title = sample.HEAD
            head = session.exec(select(Official).where(Official.name == head_name)).one()
            head.role, head.unit, head.title = OfficialRole.HEAD, unit, title
            session.add(head)
        print_summary(summary)
        print()
        with session_scope(engine) as session:
            views = list_tasks(
                session, TaskFilter(), today=start_day, yellow_days=settings.policy.yellow_days
            )
        print_tasks(views, start_day)
        engine.dispose()
    return 0
