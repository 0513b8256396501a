"""The delivery worker with Telegram as its sender, over PTB's real HTTP client, against the fake
Bot API server on 127.0.0.1: each promise of the worker under the fault that used to break it."""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.app import build_application
from bot.dispatcher import Dispatcher
from ledger.enums import OutboxStatus
from ledger.models import Official, Outbox, Task
from tests.bot.conftest import TOKEN, USERS, feed, message_update
from tests.factories import message_id_of, reachable
from tests.support.fake_bot_api import FakeBotApi, Fault

pytestmark = pytest.mark.usefixtures("ledger")


@pytest.fixture
def fake():
    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.fixture
async def app(settings, engine, clock, fake):
    """The real Application, talking HTTP to the fake Bot API."""
    # the timeouts below are 0.2 s: collect what earlier tests left now, so a full garbage
    # collection of a large test process does not pause the loop mid-request
    gc.collect()
    wired = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={
                    "api_base_url": fake.base_url,
                    "file_base_url": fake.file_base_url,
                    "read_timeout": 0.2,
                    "connect_timeout": 0.2,
                    "private_chat_interval": 0,
                }
            )
        }
    )
    application = build_application(wired, engine, token=TOKEN, clock=clock)
    await application.initialize()
    yield application
    await application.shutdown()


@pytest.fixture
def dispatcher(app):
    worker = Dispatcher(app.bot, app.bot_data["services"])
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    worker.sleep = fake_sleep
    worker.waits = waits
    return worker


@pytest.fixture
def scrubbed_logs(caplog):
    """Logging as `ledgerbot run` installs it (every root handler, pytest's included)."""
    from bot.redact import RedactingFilter, install

    caplog.set_level(logging.DEBUG)
    install(TOKEN, "DEBUG")
    yield caplog
    for handler in logging.getLogger().handlers:
        for item in list(handler.filters):
            if isinstance(item, RedactingFilter):
                handler.removeFilter(item)


def queue(engine, clock, name="赵磊", n=1):
    with Session(engine, expire_on_commit=False) as session:
        official = session.exec(select(Official).where(Official.name == name)).one()
        for i in range(n):
            session.add(
                Outbox(
                    channel="telegram",  # routed, as queuing would
                    dedupe_key=f"f:{official.id}:{i}",
                    recipient_id=official.id,
                    kind="nudge",
                    task_id=1,
                    stage=str(i),
                    text_key="notice.nudge",
                    params={
                        "task_id": 1,
                        "title": "任务",
                        "ref": "1",
                        "light": "green",
                        "deadline": "2026-12-01",
                        "days_left": 29,
                        "by": "陈静",
                    },
                    not_before=clock.now(),
                    created_at=clock.now(),
                )
            )
        session.commit()
        return official


def rows(engine):
    with Session(engine) as session:
        return session.exec(select(Outbox).order_by(Outbox.id)).all()


async def test_message_arrives_in_the_real_wire_format(dispatcher, engine, clock, fake):
    official = queue(engine, clock)
    await dispatcher.drain()
    [sent] = fake.sent_messages()
    assert sent.chat_id == USERS[official.name] and "【催办】" in sent.text
    assert (
        next(
            b["callback_data"]
            for row in sent.params["reply_markup"]["inline_keyboard"]
            for b in row
        )
        == "a:done:1"
    )
    with Session(engine) as session:
        assert message_id_of(session, rows(engine)[0]) == sent.message_id


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault("status", 502, "Bad Gateway"), "Bad Gateway"),
        (Fault("timeout", seconds=0.3), "Timed out"),
        (Fault("drop"), "NetworkError"),
    ],
)
async def test_transient_faults_are_retried(
    dispatcher, engine, clock, fake, fault, expected, scrubbed_logs
):
    queue(engine, clock)
    fake.inject(fault)
    await dispatcher.drain()
    row = rows(engine)[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and expected in row.last_error
    clock.advance(timedelta(seconds=10))
    await dispatcher.drain()
    assert rows(engine)[0].status == OutboxStatus.SENT and len(fake.sent_messages()) == 1
    logged = "\n".join(scrubbed_logs.handler.format(r) for r in scrubbed_logs.records)
    assert "bot<token>/sendMessage" in logged or expected in logged  # the URL was there, scrubbed
    assert TOKEN not in logged and TOKEN not in row.last_error


async def test_a_refusal_tells_the_supervisor(dispatcher, engine, clock, fake):
    sun = queue(engine, clock, name="孙丽")
    fake.inject(Fault("status", 400, "Bad Request: can't parse entities"))
    await dispatcher.drain()
    [row] = [r for r in rows(engine) if r.kind == "nudge"]
    assert row.status == OutboxStatus.FAILED and "parse entities" in row.last_error
    assert row.recipient_id == sun.id
    await dispatcher.drain()
    [told] = fake.sent_messages()
    assert told.chat_id == USERS["陈静"] and "【发送被拒】" in told.text and "孙丽" in told.text


async def test_blocked_then_back_gets_what_waited(app, dispatcher, engine, clock, fake):
    """After a 403 the official is unreachable; any later message from them releases it all."""
    zhao = queue(engine, clock, n=2)
    fake.inject(Fault("status", 403, "Forbidden: bot was blocked by the user"))
    await dispatcher.drain()
    with Session(engine) as session:
        assert reachable(session, zhao) is False
    assert [r.status for r in rows(engine) if r.recipient_id == zhao.id] == ["pending"] * 2
    await dispatcher.drain()
    assert [s.chat_id for s in fake.sent_messages()] == [USERS["陈静"]]  # the supervisor told
    clock.advance(timedelta(days=3))
    fake.per_chat_interval = 0  # the reply and the notices follow each other at once
    await feed(app, message_update(USERS["赵磊"], "/help"))  # they unblocked the bot
    with Session(engine) as session:
        assert reachable(session, zhao) is True
    await dispatcher.drain()
    to_zhao = [s for s in fake.sent_messages() if s.chat_id == USERS["赵磊"]]
    assert len(to_zhao) == 3 and sum("【催办】" in s.text for s in to_zhao) == 2  # help + both
    assert {r.status for r in rows(engine) if r.recipient_id == zhao.id} == {"sent"}


async def test_a_digest_of_120_buttons_is_sent_within_telegrams_limits(
    dispatcher, engine, clock, fake, ledger
):
    """40 reminders from one sweep: one digest, 3 buttons a task, at most 100 per keyboard."""
    with Session(engine) as session:
        zhao = session.exec(select(Official).where(Official.name == "赵磊")).one()
        for i in range(40):
            session.add(
                Outbox(
                    channel="telegram",  # routed, as queuing would
                    recipient_id=zhao.id,
                    kind="reminder",
                    task_id=ledger.id("1"),
                    stage=f"before:{i}",
                    sweep_id=7,
                    text_key="notice.reminder.owner",
                    params={"task_id": ledger.id("1")},
                    not_before=clock.now(),
                    created_at=clock.now(),
                )
            )
        session.commit()
    fake.per_chat_interval = 0  # the worker's pacing is switched off here, not the API's check
    await dispatcher.drain()
    assert fake.refused == 0
    sent = fake.sent_messages()
    keyboards = [s.params["reply_markup"]["inline_keyboard"] for s in sent]
    sizes = [sum(len(row) for row in keyboard) for keyboard in keyboards]
    assert sizes == [99, 21] and "【整改提醒汇总】您有 40 项" in sent[0].text
    assert {r.status for r in rows(engine)} == {"sent"}


async def test_a_two_part_notice_whose_second_part_fails_is_sent_once(
    dispatcher, engine, clock, fake, ledger
):
    with Session(engine) as session:
        task = session.get(Task, ledger.id("1"))
        task.title = "长" * 5000  # two parts: Telegram takes 4096 characters
        session.add(task)
        session.commit()
    queue(engine, clock)
    fake.per_chat_interval = 0
    fake.inject(Fault("status", 502, "Bad Gateway", after=1))
    await dispatcher.drain()
    [row] = rows(engine)
    assert row.status == OutboxStatus.PENDING and row.parts_sent == 1
    clock.advance(timedelta(seconds=10))
    await dispatcher.drain()
    assert rows(engine)[0].status == OutboxStatus.SENT
    texts = [s.text for s in fake.sent_messages()]
    assert len(texts) == 2 and texts[0] != texts[1]  # each part once


async def test_a_slow_answer_repeats_only_the_part_in_flight(
    dispatcher, engine, clock, fake, ledger
):
    """Telegram took part 2 but answered after our timeout: part 2 again, never part 1."""
    with Session(engine) as session:
        task = session.get(Task, ledger.id("1"))
        task.title = "长" * 5000
        session.add(task)
        session.commit()
    queue(engine, clock)
    fake.per_chat_interval = 0
    fake.inject(Fault("slow", seconds=0.3, after=1))
    await dispatcher.drain()
    clock.advance(timedelta(seconds=10))
    await dispatcher.drain()
    assert rows(engine)[0].status == OutboxStatus.SENT
    texts = [s.text for s in fake.sent_messages()]
    assert len(texts) == 3 and texts[0] != texts[1] == texts[2]


async def test_a_60_second_outage_loses_nothing(dispatcher, engine, clock, fake):
    for name in ("赵磊", "孙丽", "李明", "张伟", "王建国"):
        queue(engine, clock, name=name)
    fake.down = True
    for _ in range(30):
        await dispatcher.drain()
        clock.advance(timedelta(seconds=2))
    assert fake.sent_messages() == [] and {r.status for r in rows(engine)} == {"pending"}
    fake.down = False
    for _ in range(20):
        await dispatcher.drain()
        clock.advance(timedelta(seconds=30))
    assert {r.status for r in rows(engine)} == {"sent"}
    assert len(fake.sent_messages()) == 5


async def test_a_slow_export_does_not_stop_delivery(
    app, dispatcher, engine, clock, fake, monkeypatch
):
    """/export runs off the event loop: notices keep going out while it works."""
    import threading

    from ledger import reads

    delivered = threading.Event()
    real_export = reads.export
    finished_after_delivery: list[bool] = []

    def slow_export(*args, **kwargs):
        # blocks until the worker has sent the reminder: on the event loop it never could
        finished_after_delivery.append(delivered.wait(timeout=5))
        return real_export(*args, **kwargs)

    monkeypatch.setattr(reads, "export", slow_export)
    original = fake.answer

    def answer(method, params):
        status, payload = original(method, params)
        if method == "sendMessage" and "【催办】" in str(params.get("text")):
            delivered.set()
        return status, payload

    fake.answer = answer
    queue(engine, clock)

    async def deliver_soon() -> None:
        await asyncio.sleep(0.05)  # the export has started
        await dispatcher.drain()

    await asyncio.gather(feed(app, message_update(USERS["陈静"], "/export")), deliver_soon())
    assert finished_after_delivery == [True]
    assert [c for c, _ in fake.calls if c == "sendDocument"]


async def test_a_reply_that_meets_a_429_is_retried(app, fake):
    fake.inject(Fault("status", 429, "Too Many Requests: retry after 1", retry_after=1))
    await feed(app, message_update(USERS["赵磊"], "/help"))
    [reply] = fake.sent_messages()
    assert reply.chat_id == USERS["赵磊"]


async def test_the_servers_rate_limit_is_obeyed(dispatcher, engine, clock, fake):
    queue(engine, clock, n=2)  # two messages to one private chat, our own pacing switched off
    await dispatcher.drain()
    assert fake.too_many == 1 and dispatcher.waits == [1.0]
    assert [r.status for r in rows(engine)] == [OutboxStatus.SENT, OutboxStatus.PENDING]


async def test_info_logs_are_one_line_events_without_message_text(
    dispatcher, engine, clock, fake, scrubbed_logs
):
    scrubbed_logs.set_level(logging.INFO)
    official = queue(engine, clock)
    await dispatcher.drain()
    lines = [
        scrubbed_logs.handler.format(r) for r in scrubbed_logs.records if r.levelno >= logging.INFO
    ]
    sent = [line for line in lines if "logger=ledger.worker sent " in line]
    assert len(sent) == 1 and f"official={official.id}" in sent[0] and "kind=nudge" in sent[0]
    assert all("\n" not in line for line in lines)
    assert not any("【催办】" in line or "任务" in line for line in lines)
