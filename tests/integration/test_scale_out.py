"""Several processes on one database: one sweep per slot, every message sent exactly once.

Two schedulers and three dispatcher workers run in separate threads (each with its own event
loop and connections) against the same database and one fake Bot API. One worker is killed
after 100 messages, between two sends, holding its other claims; they expire and the others
send those messages. On PostgreSQL this exercises the advisory lock and FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from telegram import Bot

from bot.dispatcher import Dispatcher
from bot.services import BotServices
from jobs.policy import SweepPolicy
from jobs.runner import run_scheduled_sweep
from ledger.clock import FakeClock
from ledger.enums import Duty, OutboxStatus
from ledger.models import Aspect, Outbox, Problem, Round, SweepRun, Task, TaskPerson
from ledger.workdays import WorkCalendar
from tests.bot.conftest import TOKEN
from tests.fakes import RecordingRequest
from tests.support.bulk import insert_bound_officials

ITEMS = 2000
TUESDAY = date(2026, 11, 3)
NOW = datetime.combine(TUESDAY, time(9), tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def bulk_ledger(engine) -> None:
    """ITEMS tasks due in 3 days, each with its own bound owner (one notice per chat)."""
    with Session(engine) as session:
        for row in (
            Round(id=1, name="R", created_at=NOW),
            Aspect(id=1, round_id=1, number=1, title="方面"),
            Problem(id=1, aspect_id=1, number=1, title="问题"),
        ):
            session.add(row)
            session.flush()  # no ORM relationships: insert parents first
        session.commit()
        insert_bound_officials(session, ITEMS, now=NOW, chat_base=10_000, name="责任人")
        session.execute(
            sa.insert(Task),
            [
                {
                    "id": i,
                    "round_id": 1,
                    "problem_id": 1,
                    "ref": str(i),
                    "position": i,
                    "title": f"任务{i}",
                    "measures": "",
                    "target": "",
                    "kind": "deadline",
                    "role": "lead",
                    "lead_unit": "",
                    "participating_units": "",
                    "deadline": TUESDAY + timedelta(days=3),
                    "status": "not_started",
                    "completion_note": "",
                    "closing_opinion": "",
                    "escalation_level": 0,
                    "notes": "",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(1, ITEMS + 1)
            ],
        )
        session.execute(
            sa.insert(TaskPerson),
            [
                {"task_id": i, "official_id": i, "duty": Duty.OWNER.value, "position": 0}
                for i in range(1, ITEMS + 1)
            ],
        )
        session.commit()


def in_threads(*jobs) -> list:
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


class Killed(BaseException):
    """The process dies: nothing after this point runs, no claim is released."""


def worker_run(engine, settings, clock, request, *, killed_after: int | None = None) -> int:
    """One dispatcher process: drain until nothing is left for it (or until it is killed)."""

    async def main() -> int:
        own = request
        if killed_after is not None:
            own = RecordingRequest()  # its own connection to the same fake Bot API
            own.calls = request.calls
            sent_by_me = []

            def die_before_next(call):
                if call.method == "sendMessage":
                    if len(sent_by_me) == killed_after:
                        raise Killed
                    sent_by_me.append(call)

            own.before_call = die_before_next
        bot = Bot(TOKEN, request=own, get_updates_request=own)
        await bot.initialize()
        services = BotServices(engine=engine, settings=settings, clock=clock)
        dispatcher = Dispatcher(bot, services)
        dispatcher.sender.pace_seconds = 0
        while True:
            before = dispatcher.stats.sent
            try:
                await dispatcher.drain(limit=50)
            except Killed:
                return dispatcher.stats.sent
            if dispatcher.stats.sent == before:
                await bot.shutdown()
                return dispatcher.stats.sent

    return asyncio.run(main())


def test_two_schedulers_three_workers_one_killed(engine, settings):
    bulk_ledger(engine)
    clock = FakeClock(NOW)
    policy = SweepPolicy.from_settings(settings, WorkCalendar())
    results = in_threads(
        lambda: run_scheduled_sweep(engine, policy, NOW),
        lambda: run_scheduled_sweep(engine, policy, NOW),
    )
    assert sum(r is not None for r in results) == 1  # exactly one scheduler swept the slot
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(SweepRun)).one() == 1
        assert session.exec(select(func.count()).select_from(Outbox)).one() == ITEMS

    request = RecordingRequest()
    sent = in_threads(
        lambda: worker_run(engine, settings, clock, request),
        lambda: worker_run(engine, settings, clock, request),
        lambda: worker_run(engine, settings, clock, request, killed_after=100),
    )
    assert sent[2] == 100
    with Session(engine) as session:
        held = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == OutboxStatus.PENDING)
        ).one()
    assert held > 0  # the killed worker's claims: nobody may send them before they expire
    clock.advance(timedelta(seconds=settings.delivery.claim_seconds + 1))
    sent += in_threads(
        lambda: worker_run(engine, settings, clock, request),
        lambda: worker_run(engine, settings, clock, request),
    )
    assert sum(sent) == ITEMS
    per_chat = Counter(int(c.params["chat_id"]) for c in request.sent())
    assert len(per_chat) == ITEMS and set(per_chat.values()) == {1}  # exactly once each
    with Session(engine) as session:
        statuses = session.exec(
            select(Outbox.status, func.count()).group_by(col(Outbox.status))
        ).all()
    assert statuses == [(OutboxStatus.SENT.value, ITEMS)]
