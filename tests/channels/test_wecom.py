"""WeCom application messages through the delivery worker, against the fake WeCom API."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlmodel import Session, select, update

from channels.wecom import WeComSender
from ledger.contacts import contact_of
from ledger.enums import Channel, OutboxStatus
from ledger.models import AuditEvent, Outbox
from tests.channels.conftest import (
    action_target,
    crash,
    drain_all,
    give_contacts,
    make_worker,
    official,
    outbox,
    queue_nudges,
)
from tests.support.fake_sender import Crashed

pytestmark = pytest.mark.usefixtures("ledger")


@pytest.fixture
def sender(channel_settings):
    return WeComSender(channel_settings)


async def test_a_notice_queued_between_drains_goes_to_the_deployments_channel(
    engine, channel_settings, clock, vclock, wecom, sender, ledger
):
    """Queued by the core's order (Telegram first for someone with both), a notice is moved to
    the channel this deployment runs at the next drain: the rows queued since the last pass,
    without the full pass over every pending row that each drain used to make."""
    give_contacts(engine, channel_settings, clock, Channel.WECOM, names=("赵磊",))
    worker = make_worker(engine, channel_settings, clock, vclock, [sender])
    await worker.drain()  # the first drain: a full pass, nothing waiting yet
    queue_nudges(engine, clock, ledger, names=("赵磊",))
    with Session(engine) as session:  # routed when queued, as the core routes: Telegram first
        session.execute(update(Outbox).values(channel=Channel.TELEGRAM))
        session.commit()
    await drain_all(worker, engine)
    assert [(r.channel, r.status) for r in outbox(engine)] == [(Channel.WECOM, OutboxStatus.SENT)]
    assert [s.user for s in wecom.shown] == ["zhaolei"]


async def test_a_notice_arrives_as_a_textcard_with_the_action_link(
    engine, channel_settings, clock, vclock, wecom, sender, ledger
):
    give_contacts(engine, channel_settings, clock, Channel.WECOM)
    queue_nudges(engine, clock, ledger, names=("赵磊", "孙丽"))
    worker = make_worker(engine, channel_settings, clock, vclock, [sender])
    await drain_all(worker, engine)
    assert [r.status for r in outbox(engine)] == [OutboxStatus.SENT] * 2
    assert [r.channel for r in outbox(engine)] == [Channel.WECOM] * 2
    cards = {s.user: s.card for s in wecom.shown}
    assert set(cards) == {"zhaolei", "sunli"}
    card = cards["zhaolei"]
    task_id = ledger.id("1")
    assert card["title"].startswith(f"#{task_id} ") or f"#{task_id}" in card["title"]
    assert "【催办】陈静（1） 提醒您尽快推进并报告进展" in card["description"]
    with Session(engine) as session:
        zhao = official(session, "赵磊").id
    assert action_target(card["url"], clock) == (zhao, task_id)  # his signed page for task 1
    assert card["btntxt"] == "去办理"
    sends = [r for r in wecom.requests if r.path == "/cgi-bin/message/send"]
    assert all(r.body["enable_duplicate_check"] == 1 for r in sends)
    assert wecom.token_fetches == 1  # one token for both


async def test_an_expired_token_is_renewed_and_the_notice_sent_once(
    engine, channel_settings, clock, vclock, wecom, sender, ledger
):
    give_contacts(engine, channel_settings, clock, Channel.WECOM)
    worker = make_worker(engine, channel_settings, clock, vclock, [sender])
    queue_nudges(engine, clock, ledger)
    await drain_all(worker, engine)
    wecom.expire_tokens()  # 42001 on the next send
    await vclock.sleep(1801)  # past WeCom's duplicate check: the same card shows again
    queue_nudges(engine, clock, ledger)
    await drain_all(worker, engine)
    answers = [r.query["access_token"] for r in wecom.requests if r.path.endswith("send")]
    assert len(answers) == 3  # the second notice: refused with 42001, then sent
    assert wecom.token_fetches == 2
    assert len(wecom.shown) == 2 and [r.status for r in outbox(engine)] == [OutboxStatus.SENT] * 2


async def test_one_member_is_paced_below_wecoms_silent_drop(
    engine, channel_settings, clock, vclock, wecom, ledger
):
    """40 notices to one member: WeCom would silently drop past 30 a minute; paced, all show."""
    give_contacts(engine, channel_settings, clock, Channel.WECOM)
    queue_nudges(engine, clock, ledger, per_person=40)
    worker = make_worker(engine, channel_settings, clock, vclock, [WeComSender(channel_settings)])
    await drain_all(worker, engine)
    assert len(wecom.shown) == 40 and wecom.dropped == []
    times = [s.at for s in wecom.shown]
    assert min(b - a for a, b in pairwise(times)) >= 3.6


async def test_unpaced_the_fake_drops_silently(
    engine, channel_settings, clock, vclock, wecom, ledger
):
    """The fake's limit is real: with no pacing, WeCom's 'ok' hides ten lost notices."""
    give_contacts(engine, channel_settings, clock, Channel.WECOM)
    queue_nudges(engine, clock, ledger, per_person=40)
    unpaced = channel_settings.model_copy(
        update={"wecom": channel_settings.wecom.model_copy(update={"member_interval": 0})}
    )
    worker = make_worker(engine, unpaced, clock, vclock, [WeComSender(unpaced)])
    await drain_all(worker, engine)
    assert len(wecom.shown) == 30 and len(wecom.dropped) == 10


async def test_an_unknown_userid_is_marked_unreachable_and_the_supervisor_told(
    engine, channel_settings, clock, vclock, wecom, sender, ledger
):
    give_contacts(engine, channel_settings, clock, Channel.WECOM, names=("赵磊",))
    with Session(engine) as session:
        chen = official(session, "陈静")  # the supervisor: reached on WeCom too
    give_contacts(
        engine, channel_settings, clock, Channel.WECOM, names=("陈静",), value=lambda n: "chenjing"
    )
    wecom.users.add("chenjing")
    wecom.users.discard("zhaolei")
    queue_nudges(engine, clock, ledger)
    worker = make_worker(engine, channel_settings, clock, vclock, [sender])
    await worker.drain()
    await worker.drain()
    with Session(engine) as session:
        contact = contact_of(session, official(session, "赵磊").id, Channel.WECOM)
        assert contact is not None and contact.reachable is False
        [event] = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "unreachable", AuditEvent.official_id == contact.official_id
            )
        ).all()
        assert "81013" in str(event.after)  # why, for the operator
    assert [r.status for r in outbox(engine)] == [OutboxStatus.PENDING]  # waits for a contact
    told = [s for s in wecom.shown if s.user == "chenjing"]
    assert len(told) == 1 and "赵磊" in told[0].card["description"]
    assert chen.id is not None


async def test_a_crash_mid_send_repeats_at_most_that_card(
    engine, channel_settings, clock, vclock, wecom, ledger
):
    """The process dies after WeCom accepted a card and before the ledger recorded it."""
    give_contacts(engine, channel_settings, clock, Channel.WECOM)
    queue_nudges(engine, clock, ledger, names=("赵磊", "孙丽", "李明"), per_person=3)

    class DiesAfterFourSends(WeComSender):
        sends = 0

        async def send(self, address, part):
            result = await super().send(address, part)
            DiesAfterFourSends.sends += 1
            if DiesAfterFourSends.sends == 4:
                raise Crashed()
            return result

    one_at_a_time = channel_settings.model_copy(
        update={"delivery": channel_settings.delivery.model_copy(update={"concurrent_sends": 1})}
    )
    dying = DiesAfterFourSends(one_at_a_time)
    first = make_worker(engine, one_at_a_time, clock, vclock, [dying], name="w1")
    await crash(first)
    # SQLite: every claim of an earlier process goes back when the next one starts; elsewhere
    # once the dead worker's heartbeat is three intervals old
    clock.advance(timedelta(seconds=4 * channel_settings.delivery.heartbeat_seconds))
    second = make_worker(
        engine, one_at_a_time, clock, vclock, [WeComSender(one_at_a_time)], name="w2"
    )
    second.start()
    await drain_all(second, engine)
    assert Counter(r.status for r in outbox(engine)) == {OutboxStatus.SENT: 9}
    sends = [r for r in wecom.requests if r.path.endswith("/message/send")]
    assert len(sends) == 9 + 1  # the card in flight went twice, nothing else
    # shown at most twice: WeCom's duplicate check drops it only if identical, and its signed
    # link's expiry moved with the clock
    assert 9 <= len(wecom.shown) <= 10


async def test_the_sweeps_reminders_point_to_the_page_not_to_a_reply(
    engine, channel_settings, clock, vclock, wecom, sender, ledger
):
    """WeCom takes no replies here: '回复本消息' would mislead; the card says use the link."""
    from jobs.policy import SweepPolicy
    from jobs.runner import run_sweep
    from ledger.workdays import WorkCalendar

    give_contacts(engine, channel_settings, clock, Channel.WECOM)
    run_sweep(engine, SweepPolicy.from_settings(channel_settings, WorkCalendar()), clock.now())
    worker = make_worker(engine, channel_settings, clock, vclock, [sender])
    for _ in range(5):  # (people without a WeCom userid wait: no Telegram sender runs)
        await worker.drain()
    overdue = [s for s in wecom.shown if "【逾期提醒】" in s.card["description"]]
    assert overdue and all(s.user == "zhaolei" for s in overdue)
    assert "请尽快完成整改，或在下方链接页面报告进展" in overdue[0].card["description"]
    assert not any("回复本消息" in s.card["description"] for s in wecom.shown)


async def test_a_long_digest_becomes_cards_wecom_accepts(channel_settings, wecom, sender):
    """WeCom refuses a description over 512 bytes (45002): a long digest is several cards."""
    from ledger.delivery import Address
    from ledger.notices import Notice

    long = Notice(
        "【整改提醒汇总】\n" + "\n".join(f"🔴 #{n} 第{n}项整改任务逾期未完成" for n in range(60))
    )
    parts = sender.render(long, "zh")
    assert len(parts) > 1
    for part in parts:
        await sender.send(Address("zhaolei"), part)
    assert len(wecom.shown) == len(parts)
    joined = "".join(s.card["description"] for s in wecom.shown)
    assert all(f"#{n} 第{n}项" in joined for n in range(60))
    assert wecom.shown[-1].card["description"].endswith(f"（续 {len(parts)}/{len(parts)}）")
