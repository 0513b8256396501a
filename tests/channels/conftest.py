"""Senders of the mainland channels against their fakes on 127.0.0.1, through the real delivery
worker. The worker's sleep advances a virtual clock that the fakes read, so a minute of pacing
takes no time and the fakes' per-minute limits still hold."""

from __future__ import annotations

from itertools import count

import pytest
from sqlmodel import Session, select

from config import load_settings
from ledger.contacts import set_contact
from ledger.context import Actor, WorkContext
from ledger.enums import Channel, OutboxStatus, Via
from ledger.models import Official, Outbox
from ledger.worker import Worker
from tests.bot.conftest import ledger  # noqa: F401  (the sample ledger, officials bound)
from tests.support.fake_dingtalk import FakeDingTalk
from tests.support.fake_http import VirtualClock
from tests.support.fake_robots import FakeRobots
from tests.support.fake_wecom import FakeWeCom

_stages = count()
WEB_SECRET = "web-secret-for-links-0123456789abcdef"
USERIDS = {"赵磊": "zhaolei", "孙丽": "sunli", "李明": "liming"}


@pytest.fixture
def vclock():
    return VirtualClock()


@pytest.fixture
def wecom(vclock):
    fake = FakeWeCom(clock=vclock).start()
    yield fake
    fake.stop()


@pytest.fixture
def dingtalk(vclock):
    fake = FakeDingTalk(clock=vclock).start()
    yield fake
    fake.stop()


@pytest.fixture
def robots(vclock, clock):
    fake = FakeRobots(clock=vclock, wall=lambda: clock.now().timestamp()).start()
    yield fake
    fake.stop()


@pytest.fixture
def channel_settings(settings, wecom, dingtalk, monkeypatch):
    """The test settings with WeCom and DingTalk pointed at their fakes."""
    monkeypatch.setenv("LEDGERBOT_WECOM__SECRET", wecom.secret)
    monkeypatch.setenv("LEDGERBOT_DINGTALK__APP_SECRET", dingtalk.app_secret)
    return load_settings(
        database_url=settings.database_url,
        evidence_dir=settings.evidence_dir,
        calendar_file=settings.calendar_file,
        web={"public_url": "https://zg.example.gov.cn", "secret": WEB_SECRET},
        wecom={
            "corp_id": wecom.corp_id,
            "agent_id": wecom.agent_id,
            "api_base_url": wecom.base_url,
        },
        dingtalk={
            "app_key": dingtalk.app_key,
            "agent_id": dingtalk.agent_id,
            "api_base_url": dingtalk.base_url,
        },
    )


def make_worker(engine, settings, clock, vclock, senders, name="w-chan"):
    worker = Worker(engine, settings, clock, senders, name=name)
    worker.sleep = vclock.sleep
    return worker


def official(session: Session, name: str) -> Official:
    return session.exec(select(Official).where(Official.name == name)).one()


def give_contacts(engine, settings, clock, channel: Channel, names=tuple(USERIDS), value=None):
    with Session(engine) as session:
        ctx = WorkContext(
            session=session, now=clock.now(), actor=Actor(via=Via.CLI), settings=settings
        )
        for name in names:
            address = value(name) if value else USERIDS[name]
            set_contact(ctx, official(session, name), channel, address)
        session.commit()


def queue_nudges(engine, clock, ledger, names=("赵磊",), per_person=1, task="1"):  # noqa: F811
    """`per_person` nudges (催办) about `task` to each of `names`, each text its own."""
    with Session(engine) as session:
        for name in names:
            person = official(session, name)
            for n in range(per_person):
                session.add(
                    Outbox(
                        recipient_id=person.id,
                        kind="nudge",
                        task_id=ledger.id(task),
                        stage=f"n{next(_stages)}",
                        text_key="notice.nudge",
                        # distinct texts: WeCom and DingTalk show the same text only once
                        params={"task_id": ledger.id(task), "by": f"陈静（{n + 1}）"},
                        not_before=clock.now(),
                        created_at=clock.now(),
                    )
                )
        session.commit()


def outbox(engine, kind="nudge") -> list[Outbox]:
    with Session(engine) as session:
        return list(
            session.exec(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)).all()
        )


async def drain_all(worker, engine, kind="nudge", rounds=200):
    for _ in range(rounds):
        await worker.drain()
        if not any(r.status == OutboxStatus.PENDING for r in outbox(engine, kind)):
            return
    raise AssertionError("the outbox did not drain")


async def crash(worker) -> None:
    """Drain until the sender raises `Crashed`, then drop every other task the dead worker
    left (its other lanes): a killed process sends nothing after the crash."""
    import asyncio

    from tests.support.fake_sender import Crashed

    worker.start()
    with pytest.raises(Crashed):
        await worker.drain()
    others = [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "").startswith("Worker.drain.")
    ]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def action_target(url: str, clock) -> tuple[int, int]:
    """(official id, task id) of a signed action link (ledger.links), or an AssertionError."""
    from ledger.links import ACTION, read

    prefix = "https://zg.example.gov.cn/a/"
    assert url.startswith(prefix), url
    token = read(WEB_SECRET, url[len(prefix) :], ACTION, clock.now())
    return token.official_id, token.target
