"""The dispatcher over PTB's real HTTP client against the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import gc
import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.app import build_application
from bot.dispatcher import Dispatcher
from ledger.enums import OutboxStatus
from ledger.models import Official, Outbox
from tests.bot.conftest import TOKEN
from tests.support.fake_bot_api import FakeBotApi, Fault

pytestmark = pytest.mark.usefixtures("ledger")


@pytest.fixture
def fake():
    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.fixture
async def dispatcher(settings, engine, clock, fake):
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
                    "max_attempts": 3,
                }
            )
        }
    )
    app = build_application(wired, engine, token=TOKEN, clock=clock)
    await app.initialize()
    worker = Dispatcher(app.bot, app.bot_data["services"])
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    worker.sleep = fake_sleep
    worker.waits = waits
    yield worker
    await app.shutdown()


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
    assert sent.chat_id == official.chat_id and "【催办】" in sent.text
    assert (
        next(
            b["callback_data"]
            for row in sent.params["reply_markup"]["inline_keyboard"]
            for b in row
        )
        == "a:done:1"
    )
    assert rows(engine)[0].sent_message_id == sent.message_id


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


async def test_too_long_then_blocked(dispatcher, engine, clock, fake):
    sun = queue(engine, clock, name="孙丽")
    fake.inject(Fault("status", 400, "Bad Request: message is too long"))
    await dispatcher.drain()
    [row] = rows(engine)
    assert row.status == OutboxStatus.FAILED and "too long" in row.last_error
    assert row.recipient_id == sun.id
    zhao = queue(engine, clock, n=2)
    fake.inject(Fault("status", 403, "Forbidden: bot was blocked by the user"))
    await dispatcher.drain()
    mine = [r for r in rows(engine) if r.recipient_id == zhao.id]
    assert [r.status for r in mine] == [OutboxStatus.FAILED, OutboxStatus.PENDING]
    with Session(engine) as session:
        assert session.get(Official, zhao.id).reachable is False
    told = [r for r in rows(engine) if r.kind == "escalation"]
    assert told and told[0].text_key == "notice.escalation.unreachable"


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
    sent = [line for line in lines if "logger=bot.dispatcher sent " in line]
    assert len(sent) == 1 and f"official={official.id}" in sent[0] and "kind=nudge" in sent[0]
    assert all("\n" not in line for line in lines)
    assert not any("【催办】" in line or "任务" in line for line in lines)
