"""The delivery worker's promises, driven through a second, fake sender (no Telegram at all).

The same worker drives Telegram in test_fake_api.py; here it drives `FakeSender`, so what is
proved is the worker and the ledger's transitions, whatever the channel.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import count

import pytest
from sqlmodel import Session, select

from ledger import delivery
from ledger.contacts import returned
from ledger.context import Actor, WorkContext
from ledger.delivery import RateLimited, Refused, Transient, Unreachable
from ledger.enums import Channel, OutboxStatus, Via
from ledger.models import AuditEvent, DeliveryWorker, Official, Outbox, Task
from ledger.worker import Worker
from tests.bot.conftest import USERS
from tests.factories import reachable
from tests.support.fake_sender import Crashed, FakeSender

pytestmark = pytest.mark.usefixtures("ledger")
ZHAO, CHEN = USERS["赵磊"], USERS["陈静"]
OWNERS = ("赵磊", "孙丽", "李明", "张伟", "王建国")
_stages = count()


def queue(engine, clock, ledger, *, names=("赵磊",), per_person=1, title=""):
    """Nudges (催办) about task 1, `per_person` to each of `names` (a notice shows the task's
    title as it is when sent: `title` renames the task)."""
    with Session(engine) as session:
        if title:
            task = session.get(Task, ledger.id("1"))
            task.title = title
            session.add(task)
        for name in names:
            official = session.exec(select(Official).where(Official.name == name)).one()
            for _ in range(per_person):
                session.add(
                    Outbox(
                        channel="telegram",  # routed, as queuing would
                        recipient_id=official.id,
                        kind="nudge",
                        task_id=ledger.id("1"),
                        stage=f"n{next(_stages)}",
                        text_key="notice.nudge",
                        params={"task_id": ledger.id("1"), "by": "陈静"},
                        not_before=clock.now(),
                        created_at=clock.now(),
                    )
                )
        session.commit()


def rows(engine, kind="nudge"):
    with Session(engine) as session:
        return session.exec(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)).all()


@pytest.fixture
def sender():
    return FakeSender()


@pytest.fixture
def worker(engine, settings, clock, sender):
    made = Worker(engine, settings, clock, [sender], name="w-test")
    made.waits = []

    async def fake_sleep(seconds: float) -> None:
        made.waits.append(seconds)

    made.sleep = fake_sleep
    return made


async def drain_until_done(worker, clock, engine, *, step=timedelta(seconds=1), limit=600):
    for _ in range(limit):
        await worker.drain()
        if not any(r.status == OutboxStatus.PENDING for r in rows(engine)):
            return
        clock.advance(step)


async def test_a_60_second_outage_loses_nothing(worker, sender, engine, clock, ledger):
    """300 notices during a 60 s outage: all delivered once it ends, none given up."""
    queue(engine, clock, ledger, names=OWNERS, per_person=60)
    sender.down = True
    for _ in range(60):
        await worker.drain()
        clock.advance(timedelta(seconds=1))
    assert sender.accepted == [] and sender.attempts >= 300
    sender.down = False
    await drain_until_done(worker, clock, engine)
    assert Counter(r.status for r in rows(engine)) == {OutboxStatus.SENT: 300}
    assert len(sender.accepted) == 300  # each once
    assert rows(engine, "escalation") == []  # nobody told: far from give_up_hours


async def test_two_part_notices_with_a_failing_second_part_are_sent_once(
    worker, sender, engine, clock, ledger
):
    """Each part is recorded as it is accepted; a retry resumes from the first one not."""
    queue(engine, clock, ledger, per_person=60, title="长" * 120)
    sender.limit = 150  # every notice is two parts
    second_parts = Counter()

    def fail_every_other_second_part(address, part):
        if "【催办】" not in part:
            return None  # a first part
        second_parts["tries"] += 1
        return Transient("NetworkError: reset") if second_parts["tries"] % 2 else None

    sender.fail_if = fail_every_other_second_part
    await drain_until_done(worker, clock, engine, step=timedelta(seconds=5))
    sent = rows(engine)
    assert all(r.status == OutboxStatus.SENT and r.parts_sent == 2 for r in sent)
    assert len(sender.accepted) == 120  # 60 notices x 2 parts: no part twice
    assert sender.attempts - 120 == second_parts["tries"] - 60 >= 30  # though many failed


async def test_a_blocked_person_gets_what_waited_when_they_come_back(
    worker, sender, engine, clock, ledger, settings
):
    queue(engine, clock, ledger)
    sender.failures.append(Unreachable("Forbidden: bot was blocked by the user"))
    await worker.drain()
    with Session(engine) as session:
        zhao = session.exec(select(Official).where(Official.name == "赵磊")).one()
        assert reachable(session, zhao) is False
    assert [r.status for r in rows(engine)] == [OutboxStatus.PENDING]
    await worker.drain()
    assert [a.address for a in sender.accepted] == [str(CHEN)]  # the supervisor was told
    queue(engine, clock, ledger, per_person=3)  # more notices meanwhile: they wait too
    clock.advance(timedelta(hours=1))
    await worker.drain()
    assert sender.to(ZHAO) == []
    with Session(engine) as session:  # any message from them (the bot's hook calls this)
        ctx = WorkContext(
            session=session, now=clock.now(), actor=Actor(via=Via.TELEGRAM), settings=settings
        )
        assert (
            returned(ctx, Channel.TELEGRAM, str(ZHAO)) == 4
        )  # the one that met the block, and 3 more
        assert returned(ctx, Channel.TELEGRAM, str(ZHAO)) == 0  # reachable already: nothing to do
        session.commit()
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "reachable")).one()
    await worker.drain()
    assert len(sender.to(ZHAO)) == 4
    assert {r.status for r in rows(engine)} == {OutboxStatus.SENT}


async def test_a_refusal_tells_the_supervisor_and_shows_in_officials(
    worker, sender, engine, clock, ledger, capsys, settings
):
    queue(engine, clock, ledger)
    sender.failures.append(Refused("BadRequest: can't parse entities"))
    await worker.drain()
    [row] = rows(engine)
    assert row.status == OutboxStatus.FAILED and "parse entities" in row.last_error
    await worker.drain()
    [told] = sender.to(CHEN)
    assert "【发送被拒】" in told.text and "赵磊" in told.text
    from argparse import Namespace

    from cli.main import App, cmd_officials

    app = App(settings, clock)
    app._engine = engine  # the test's database, as `ledgerbot officials` would open it
    assert cmd_officials(app, Namespace()) == 0
    zhao_line = next(line for line in capsys.readouterr().out.splitlines() if "赵磊" in line)
    assert "1条被拒" in zhao_line


async def test_a_list_that_kept_failing_is_superseded_by_the_next(
    worker, sender, engine, clock, ledger
):
    """Retries go on only while the notice matters: yesterday's 待销号 list gives way."""
    with Session(engine) as session:
        chen = session.exec(select(Official).where(Official.name == "陈静")).one()
        for day in ("d1", "d2"):
            session.add(
                Outbox(
                    channel="telegram",  # routed, as queuing would
                    recipient_id=chen.id,
                    kind="pending_list",
                    stage=day,
                    dedupe_key=f"pl:{day}",
                    text_key="notice.pending_list",
                    params={"count": 0, "items": []},
                    not_before=clock.now(),
                    created_at=clock.now(),
                )
            )
            if day == "d1":
                session.commit()
                sender.failures.append(Transient("HTTP 502"))
                await worker.drain()
        session.commit()
    clock.advance(timedelta(minutes=1))
    await worker.drain()
    first, second = rows(engine, "pending_list")
    assert first.status == OutboxStatus.COVERED and "superseded" in first.last_error
    assert second.status == OutboxStatus.SENT and len(sender.accepted) == 1


async def test_a_rate_limit_waits_and_keeps_the_notice(worker, sender, engine, clock, ledger):
    queue(engine, clock, ledger)
    sender.failures.append(RateLimited(7))
    await worker.drain()
    [row] = rows(engine)
    assert worker.waits == [7] and row.status == OutboxStatus.PENDING and row.attempts == 0
    await worker.drain()
    assert rows(engine)[0].status == OutboxStatus.SENT


async def test_transient_failures_back_off_to_the_cap_and_tell_the_supervisor_once(
    worker, sender, engine, clock, ledger, settings
):
    queue(engine, clock, ledger)
    sender.fail_if = lambda address, part: (
        Transient("HTTP 503") if address.value == str(ZHAO) else None
    )
    delays = []
    for _ in range(40):  # more than a day of failures
        await worker.drain()
        row = rows(engine)[0]
        delays.append((row.not_before - clock.now()).total_seconds())
        clock.advance(row.not_before - clock.now())
    cap = settings.delivery.retry_cap_seconds
    assert delays[:4] == [2, 4, 8, 16] and max(delays) == cap and delays[-1] == cap
    assert rows(engine)[0].status == OutboxStatus.PENDING  # never dead while the task is open
    assert clock.now() - rows(engine)[0].failing_since < timedelta(hours=24)
    for _ in range(300):
        await worker.drain()
        clock.advance(timedelta(seconds=cap))
    told = [a for a in sender.to(CHEN) if "【发送失败】" in a.text]
    assert len(told) == 1  # once, after give_up_hours
    sender.fail_if = None
    await worker.drain()
    assert rows(engine)[0].status == OutboxStatus.SENT and rows(engine)[0].failing_since is None


async def test_a_dead_workers_claims_return_when_its_heartbeat_stops(
    engine, settings, clock, ledger
):
    """Seconds after its last beat, not when its 60-second lease runs out."""
    queue(engine, clock, ledger, names=OWNERS)
    dying = FakeSender(crash_after=2)
    first = Worker(engine, settings, clock, [dying], name="w-dies")
    first.heartbeat()
    with pytest.raises(Crashed):
        await first.drain()
    assert len(dying.accepted) == 2
    claimed = [r for r in rows(engine) if r.claimed_by == "w-dies"]
    assert len(claimed) == 3
    second_sender = FakeSender()
    second = Worker(engine, settings, clock, [second_sender], name="w-next")
    clock.advance(timedelta(seconds=settings.delivery.heartbeat_seconds))  # still beating?
    second.heartbeat()
    await second.drain()
    assert second_sender.accepted == []  # too soon to call it dead
    clock.advance(timedelta(seconds=3 * settings.delivery.heartbeat_seconds))
    second._last_beat = 0.0
    second.heartbeat()  # its beat stopped: its claims come back, long before the lease ends
    await second.drain()
    assert len(second_sender.accepted) == 3
    assert {r.status for r in rows(engine)} == {OutboxStatus.SENT}
    with Session(engine) as session:
        assert [w.name for w in session.exec(select(DeliveryWorker))] == ["w-next"]


async def test_a_starting_worker_takes_over_only_what_is_orphaned(engine, settings, clock, ledger):
    """SQLite holds one process per file: at start every earlier claim is an orphan. On
    PostgreSQL other processes share the outbox: a live worker's claims stay its own."""
    queue(engine, clock, ledger, names=OWNERS)
    alive = Worker(engine, settings, clock, [FakeSender(crash_after=0)], name="w-alive")
    alive.start()
    with pytest.raises(Crashed):  # it claimed all five, then stalled (beating on)
        await alive.drain()
    newcomer = Worker(engine, settings, clock, [FakeSender()], name="w-new")
    newcomer.start()
    held = [r.claimed_by for r in rows(engine)]
    if engine.dialect.name == "sqlite":
        assert held == [""] * 5
    else:
        assert held == ["w-alive"] * 5


async def test_a_stopped_worker_retires(engine, settings, clock, ledger, sender):
    """SIGTERM: the loop ends, its heartbeat row goes, nothing stays claimed."""
    queue(engine, clock, ledger, names=OWNERS)
    worker = Worker(engine, settings, clock, [sender], name="w-stop")
    sender.fail_if = lambda address, part: worker.stop()
    await worker.run_forever()
    assert len(sender.accepted) == 1
    assert all(r.claimed_by == "" for r in rows(engine))
    with Session(engine) as session:
        assert session.exec(select(DeliveryWorker)).all() == []
        assert (
            delivery.release_orphans(
                session, worker="x", now=clock.now(), silent_after=0, alone=True
            )
            == 0
        )


async def test_oversight_notices_go_out_without_what_closed_meanwhile(
    worker, sender, engine, clock, ledger, settings
):
    """The sweep's one notice per overseer goes through the same worker; a notice whose
    every task was submitted before it went out is covered, not sent."""
    from jobs.policy import SweepPolicy
    from jobs.sweep import sweep
    from ledger import lifecycle
    from ledger.workdays import WorkCalendar
    from tests.factories import as_official

    with Session(engine) as session:
        sweep(
            session=session,
            now=clock.now(),
            policy=SweepPolicy.from_settings(settings, WorkCalendar()),
        )
        session.commit()
        told = {
            session.get(Official, r.recipient_id).name: [i["task_id"] for i in r.params["items"]]
            for r in session.exec(select(Outbox).where(Outbox.kind == "oversight"))
        }
        assert told == {"陈静": [ledger.id("3")], "张伟": [ledger.id("2")]}
        lifecycle.mark_submitted(
            as_official(session, settings, clock.now(), "孙丽"), ledger.id("2"), "已完成"
        )
        session.commit()
    await drain_until_done(worker, clock, engine)
    (to_chen,) = [a for a in sender.to(CHEN) if "【督办汇总】" in a.text]
    assert f"#{ledger.id('3')}" in to_chen.text
    assert not any("分管任务提醒" in a.text for a in sender.accepted)
    statuses = {r.text_key: r.status for r in rows(engine, "oversight")}
    assert statuses == {
        "notice.oversight": OutboxStatus.SENT,
        "notice.oversight_due": OutboxStatus.COVERED,
    }
