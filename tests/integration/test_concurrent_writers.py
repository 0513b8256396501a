"""The bot and the scheduler write at the same time: nobody sees "database is locked"."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from jobs.policy import SweepPolicy
from jobs.runner import run_sweep
from ledger import lifecycle
from ledger.context import Actor, WorkContext
from ledger.db import session_scope
from ledger.enums import Via
from ledger.models import Official, ProgressReport
from ledger.workdays import WorkCalendar
from tests.integration.test_scale_out import NOW, bulk_ledger, in_threads


def test_sweeps_and_replies_interleave_without_lock_errors(engine, settings):
    bulk_ledger(engine)
    policy = SweepPolicy.from_settings(settings, WorkCalendar())

    def scheduler() -> int:
        for day in range(6):
            run_sweep(engine, policy, NOW + timedelta(days=day))
        return 6

    def officials_replying() -> int:
        for n in range(1, 151):
            with session_scope(engine) as session:
                official = session.get(Official, n)
                ctx = WorkContext(
                    session=session,
                    now=NOW,
                    settings=settings,
                    actor=Actor(via=Via.TELEGRAM, official=official),
                )
                lifecycle.record_progress(ctx, n, f"第{n}项已推进")
        return 150

    assert in_threads(scheduler, officials_replying, officials_replying) == [6, 150, 150]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(ProgressReport)).one() == 300
