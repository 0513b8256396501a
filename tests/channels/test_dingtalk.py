"""DingTalk work notifications through the delivery worker, against the fake DingTalk API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.dingtalk import DingTalkSender
from ledger.enums import Channel, OutboxStatus
from tests.channels.conftest import (
    action_target,
    crash,
    drain_all,
    give_contacts,
    make_worker,
    outbox,
    queue_nudges,
)

pytestmark = pytest.mark.usefixtures("ledger")


@pytest.fixture
def worker(engine, channel_settings, clock, vclock):
    give_contacts(engine, channel_settings, clock, Channel.DINGTALK)
    return make_worker(
        engine, channel_settings, clock, vclock, [DingTalkSender(channel_settings, clock)]
    )


async def test_a_notice_arrives_as_an_action_card_linking_to_the_page(
    worker, engine, clock, dingtalk, ledger
):
    queue_nudges(engine, clock, ledger, names=("赵磊", "孙丽"))
    await drain_all(worker, engine)
    assert [r.status for r in outbox(engine)] == [OutboxStatus.SENT] * 2
    assert {s.user for s in dingtalk.shown} == {"zhaolei", "sunli"}
    # the owner's card (the two go out concurrently, in either order) links to the task page
    (owners,) = [s for s in dingtalk.shown if s.user == "zhaolei"]
    card = owners.msg["action_card"]
    assert owners.msg["msgtype"] == "action_card"
    assert action_target(card["single_url"], clock)[1] == ledger.id("1")
    assert card["single_title"] == "去办理"
    assert "【催办】陈静（1） 提醒您尽快推进并报告进展" in card["markdown"]
    assert "2026-11-02" in card["markdown"]  # its date: DingTalk shows a text once a day
    assert dingtalk.token_fetches == 1


async def test_the_same_reminder_tomorrow_still_arrives(
    worker, engine, clock, vclock, dingtalk, ledger
):
    """DingTalk drops identical content to a user within a day; the card's date varies it."""
    queue_nudges(engine, clock, ledger)
    await drain_all(worker, engine)
    clock.advance(timedelta(days=1))
    await vclock.sleep(86400)
    queue_nudges(engine, clock, ledger)  # the very same nudge text
    await drain_all(worker, engine)
    assert len(dingtalk.shown) == 2 and dingtalk.deduped == []


async def test_a_quota_error_backs_off_and_sends_later(
    worker, engine, clock, vclock, dingtalk, ledger
):
    queue_nudges(engine, clock, ledger, per_person=3)
    dingtalk.quota_exceeded = 2
    await drain_all(worker, engine)
    assert [r.status for r in outbox(engine)] == [OutboxStatus.SENT] * 3
    assert len(dingtalk.shown) == 3
    assert worker.stats.retried == 2 and worker.stats.failed == 0
    # it waited the back-off each time (the worker's sleep): DingTalk's quota is daily
    assert vclock.offset >= 2 * 600
    assert outbox(engine)[0].attempts == 1


async def test_an_expired_token_is_renewed(worker, engine, clock, dingtalk, ledger):
    queue_nudges(engine, clock, ledger)
    await drain_all(worker, engine)
    dingtalk.expire_tokens()
    queue_nudges(engine, clock, ledger, task="3")
    await drain_all(worker, engine)
    assert dingtalk.token_fetches == 2 and len(dingtalk.shown) == 2


async def test_a_crash_mid_send_repeats_at_most_one_card(
    engine, channel_settings, clock, vclock, dingtalk, ledger
):
    from collections import Counter

    from tests.support.fake_sender import Crashed

    give_contacts(engine, channel_settings, clock, Channel.DINGTALK)
    queue_nudges(engine, clock, ledger, names=("赵磊", "孙丽"), per_person=3)
    one = channel_settings.model_copy(
        update={"delivery": channel_settings.delivery.model_copy(update={"concurrent_sends": 1})}
    )

    class Dies(DingTalkSender):
        async def send(self, address, part):
            result = await super().send(address, part)
            if len(dingtalk.shown) == 3:
                raise Crashed()
            return result

    first = make_worker(engine, one, clock, vclock, [Dies(one, clock)], name="d1")
    await crash(first)
    clock.advance(timedelta(seconds=4 * one.delivery.heartbeat_seconds))
    second = make_worker(engine, one, clock, vclock, [DingTalkSender(one, clock)], name="d2")
    second.start()
    await drain_all(second, engine)
    assert Counter(r.status for r in outbox(engine)) == {OutboxStatus.SENT: 6}
    sends = [r for r in dingtalk.requests if r.path.endswith("asyncsend_v2")]
    assert len(sends) == 7  # the card in flight went again: at most one duplicate
    # (its signed link's expiry moved with the clock, so DingTalk's same-content rule does not
    # drop it: the person may see that one card twice)
    assert len(dingtalk.shown) + len(dingtalk.deduped) == 7
