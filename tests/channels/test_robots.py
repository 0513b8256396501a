"""Group robots (WeCom, DingTalk signed, Feishu signed) get the weekly digest from the real
sweep, through the delivery worker, paced below each robot's limit."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest
from sqlmodel import Session, select

from channels.robots import DingTalkRobotSender, FeishuRobotSender, WeComRobotSender
from jobs.policy import SweepPolicy
from jobs.runner import run_sweep
from ledger.context import Actor, WorkContext
from ledger.enums import Channel, OutboxStatus, Via
from ledger.groups import add_robot, remove_group
from ledger.models import GroupSubscription, Outbox
from ledger.notices import Notice
from ledger.texts import utf8_size
from ledger.workdays import WorkCalendar
from tests.channels.conftest import crash, make_worker

pytestmark = pytest.mark.usefixtures("ledger")


def ctx_for(session, settings, clock):
    return WorkContext(
        session=session, now=clock.now(), actor=Actor(via=Via.CLI), settings=settings
    )


@pytest.fixture
def groups(engine, channel_settings, clock, robots):
    robots.wecom_keys.add("wkey-1234567890")
    robots.dingtalk["dtoken-1"] = "SEC-ding-secret"
    robots.feishu["ftoken-1"] = "feishu-secret"
    with Session(engine) as session:
        ctx = ctx_for(session, channel_settings, clock)
        add_robot(
            ctx, "领导小组（企业微信）", Channel.WECOM_ROBOT, robots.url("wecom", "wkey-1234567890")
        )
        add_robot(
            ctx,
            "领导小组（钉钉）",
            Channel.DINGTALK_ROBOT,
            robots.url("dingtalk", "dtoken-1"),
            "SEC-ding-secret",
        )
        add_robot(
            ctx,
            "领导小组（飞书）",
            Channel.FEISHU_ROBOT,
            robots.url("feishu", "ftoken-1"),
            "feishu-secret",
        )


def senders(settings, clock):
    return [
        WeComRobotSender(settings, clock),
        DingTalkRobotSender(settings, clock),
        FeishuRobotSender(settings, clock),
    ]


def digests(engine):
    with Session(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "weekly_digest"))
        return [r for r in rows if r.recipient_id is None]


async def test_the_weekly_digest_reaches_each_robots_group_once(
    engine, channel_settings, clock, vclock, robots, groups, tmp_path
):
    policy = SweepPolicy.from_settings(channel_settings, WorkCalendar())
    run_sweep(engine, policy, clock.now())  # Monday 09:00: the weekly digest
    assert len(digests(engine)) == 3
    worker = make_worker(engine, channel_settings, clock, vclock, senders(channel_settings, clock))
    await worker.drain()
    assert [r.status for r in digests(engine)] == [OutboxStatus.SENT] * 3
    assert {(p.kind, p.robot) for p in robots.posted} == {
        ("wecom", "wkey-1234567890"),
        ("dingtalk", "dtoken-1"),
        ("feishu", "ftoken-1"),
    }
    for posted in robots.posted:
        assert "一周" in posted.text or "调度" in posted.text, posted.text
    assert robots.rate_errors == 0


async def test_thirty_messages_to_one_robot_stay_below_its_limit(
    engine, channel_settings, clock, vclock, robots, groups, ledger
):
    """DingTalk mutes a robot for 10 minutes past 20 a minute: paced, none is refused."""
    from ledger.outbox import insert_ignore, outbox_row

    with Session(engine) as session:
        chats = {g.channel: g for g in session.exec(select(GroupSubscription))}
        insert_ignore(
            session,
            [
                outbox_row(
                    kind="nudge",
                    text_key="notice.nudge",
                    not_before=clock.now(),
                    now=clock.now(),
                    dedupe_key=f"pace:{channel}:{n}",
                    group=chat,
                    task_id=ledger.id("1"),
                    stage=f"p{n}",
                    params={"task_id": ledger.id("1"), "by": f"陈静（{n}）"},
                )
                for channel, chat in chats.items()
                for n in range(30)
            ],
        )
        session.commit()
    worker = make_worker(engine, channel_settings, clock, vclock, senders(channel_settings, clock))
    await worker.drain()
    assert Counter(p.kind for p in robots.posted) == {"wecom": 30, "dingtalk": 30, "feishu": 30}
    assert robots.rate_errors == 0
    for kind, pace in (("wecom", 3.15), ("dingtalk", 3.15), ("feishu", 0.63)):
        times = [p.at for p in robots.posted if p.kind == kind]
        assert min(b - a for a, b in pairwise(times)) >= pace - 0.01


async def test_unpaced_the_fake_dingtalk_robot_mutes(
    engine, channel_settings, clock, vclock, robots, groups
):
    from ledger.delivery import Address

    sender = DingTalkRobotSender(channel_settings, clock)
    address = Address(robots.url("dingtalk", "dtoken-1"), secret="SEC-ding-secret")
    from ledger.delivery import RateLimited

    for _ in range(20):
        await sender.send(address, sender.render(Notice("标题\n正文"), "zh")[0])
    with pytest.raises(RateLimited) as muted:
        await sender.send(address, sender.render(Notice("标题\n正文"), "zh")[0])
    assert muted.value.retry_after == 600


def test_a_long_digest_is_split_within_each_robots_limit(channel_settings, clock):
    long = Notice(
        "【一周调度】\n"
        + "\n".join(f"🔴 #{n} 第{n}项整改任务逾期未完成，责任人某某" for n in range(400))
    )
    for sender, limit in zip(senders(channel_settings, clock), (4096, 4000, 18_000), strict=True):
        parts = sender.render(long, "zh")
        assert len(parts) > 1
        assert all(utf8_size(p.text) <= limit for p in parts)
        joined = "\n".join(p.text for p in parts)
        assert all(f"#{n} 第{n}项" in joined for n in range(400))


async def test_a_wrong_signature_is_refused_by_the_fake(engine, channel_settings, clock, robots):
    from ledger.delivery import Address, Unreachable

    robots.dingtalk["dtoken-2"] = "the-real-secret"
    sender = DingTalkRobotSender(channel_settings, clock)
    with pytest.raises(Unreachable, match="310000"):
        await sender.send(
            Address(robots.url("dingtalk", "dtoken-2"), secret="another"),
            sender.render(Notice("t\nb"), "zh")[0],
        )


def test_removing_a_group_drops_what_was_queued_for_it(engine, channel_settings, clock, groups):
    policy = SweepPolicy.from_settings(channel_settings, WorkCalendar())
    run_sweep(engine, policy, clock.now())
    with Session(engine) as session:
        remove_group(ctx_for(session, channel_settings, clock), "领导小组（飞书）")
    assert sorted(r.status for r in digests(engine)) == [
        OutboxStatus.COVERED,
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
    ]


async def test_a_crash_mid_send_repeats_at_most_one_robot_message(
    engine, channel_settings, clock, vclock, robots, groups
):
    """Robots have no idempotency key: a crash after the post repeats that one message."""
    from datetime import timedelta

    from tests.support.fake_sender import Crashed

    run_sweep(engine, SweepPolicy.from_settings(channel_settings, WorkCalendar()), clock.now())
    one = channel_settings.model_copy(
        update={"delivery": channel_settings.delivery.model_copy(update={"concurrent_sends": 1})}
    )

    class Dies(WeComRobotSender):
        async def send(self, address, part):
            await super().send(address, part)
            raise Crashed()

    others = [DingTalkRobotSender(one, clock), FeishuRobotSender(one, clock)]
    first = make_worker(engine, one, clock, vclock, [Dies(one, clock), *others], name="r1")
    await crash(first)
    clock.advance(timedelta(seconds=4 * one.delivery.heartbeat_seconds))
    second = make_worker(engine, one, clock, vclock, senders(one, clock), name="r2")
    second.start()
    await second.drain()
    assert [r.status for r in digests(engine)] == [OutboxStatus.SENT] * 3
    assert Counter(p.kind for p in robots.posted) == {"wecom": 2, "dingtalk": 1, "feishu": 1}
