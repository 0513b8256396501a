"""Dispatch over each mainland channel's fake, paced by the real worker: `--only channels`.

Real HTTP to the fakes on 127.0.0.1 and real sleeps, with time sped up `SCALE` times: the fakes
count time `SCALE` times faster and the senders' intervals are `SCALE` times shorter, so a
minute of a robot's limit takes fifteen seconds. Each figure is the rate one recipient (a WeCom
member, one robot) got, in the fake's time, against that channel's documented limit: it should
be within 10% below it with no limit answer (WeCom: no silently dropped message).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session

SCALE = 4.0


def _clock() -> Any:
    start = time.monotonic()
    return lambda: (time.monotonic() - start) * SCALE


def channel_figures(dbs: Any, settings: Any, figure: Any, count: int) -> list[Any]:
    from benchmarks.synthetic import NOW
    from channels.robots import DingTalkRobotSender, FeishuRobotSender, WeComRobotSender
    from channels.wecom import WeComSender
    from ledger.db import make_engine
    from ledger.enums import Channel
    from ledger.migrate import upgrade
    from ledger.models import Contact, GroupSubscription, Official, Outbox
    from ledger.worker import Worker
    from tests.support.bulk import bound_officials, pending_nudges
    from tests.support.fake_robots import FakeRobots
    from tests.support.fake_wecom import FakeWeCom

    class Now:
        def now(self) -> Any:
            return NOW

    found = []
    wecom = FakeWeCom(clock=_clock()).start()
    robots = FakeRobots(clock=_clock(), wall=lambda: NOW.timestamp()).start()
    robots.wecom_keys.add("k1")
    robots.dingtalk["d1"] = "SECd1"
    robots.feishu["f1"] = "fs1"
    # name, channel, documented limit (messages a second), as shown, messages sent
    cases: list[tuple[str, Any, float, str, int]] = [
        ("WeCom app, one member", Channel.WECOM, 1000 / 3600, "1000/h (30/min)", count // 2),
        ("WeCom group robot", Channel.WECOM_ROBOT, 20 / 60, "20/min", count // 2),
        ("DingTalk group robot", Channel.DINGTALK_ROBOT, 20 / 60, "20/min", count // 2),
        ("Feishu group bot", Channel.FEISHU_ROBOT, 100 / 60, "100/min (5/s)", count * 2),
    ]
    try:
        for name, channel, limit, shown, count in cases:
            url = dbs.fresh()
            engine = make_engine(url)
            upgrade(engine)
            local = settings.model_copy(
                update={
                    "database_url": url,
                    "wecom": settings.wecom.model_copy(
                        update={
                            "corp_id": wecom.corp_id,
                            "agent_id": wecom.agent_id,
                            "api_base_url": wecom.base_url,
                            "secret": SecretStr(wecom.secret),
                            "member_interval": settings.wecom.member_interval / SCALE,
                        }
                    ),
                    "robots": settings.robots.model_copy(
                        update={
                            k: getattr(settings.robots, k) / SCALE
                            for k in ("wecom_interval", "dingtalk_interval", "feishu_interval")
                        }
                    ),
                }
            )
            rows = pending_nudges(count, now=NOW, by="督办员")
            with Session(engine) as session:
                session.execute(sa.insert(Official), bound_officials(1, now=NOW, chat_base=70_000))
                if channel == Channel.WECOM:
                    session.add(
                        Contact(official_id=1, channel=channel, address="zhaolei", updated_at=NOW)
                    )
                    for n, row in enumerate(rows):
                        row |= {"recipient_id": 1, "channel": channel.value, "dedupe_key": f"b{n}"}
                        row["params"] = {**row["params"], "by": f"督办员{n}"}
                else:
                    hook = {
                        Channel.WECOM_ROBOT: (robots.url("wecom", "k1"), ""),
                        Channel.DINGTALK_ROBOT: (robots.url("dingtalk", "d1"), "SECd1"),
                        Channel.FEISHU_ROBOT: (robots.url("feishu", "f1"), "fs1"),
                    }[channel]
                    session.add(
                        GroupSubscription(
                            chat_id=-(2**62) - 1,
                            name="bench",
                            channel=channel,
                            webhook=hook[0],
                            secret=hook[1],
                            created_at=NOW,
                        )
                    )
                    for n, row in enumerate(rows):
                        row |= {
                            "recipient_id": None,
                            "chat_id": -(2**62) - 1,
                            "dedupe_key": f"b{n}",
                        }
                session.commit()
                session.execute(sa.insert(Outbox), rows)
                session.commit()
            sender: Any = (
                WeComSender(local)
                if channel == Channel.WECOM
                else {
                    Channel.WECOM_ROBOT: WeComRobotSender,
                    Channel.DINGTALK_ROBOT: DingTalkRobotSender,
                    Channel.FEISHU_ROBOT: FeishuRobotSender,
                }[channel](local, Now())
            )
            worker = Worker(engine, local, Now(), [sender], name=f"bench-{channel.value}")
            fake = wecom if channel == Channel.WECOM else robots
            clock = fake.clock
            started = clock()

            async def run(worker: Worker = worker, count: int = count) -> None:
                while worker.stats.sent < count:
                    before = worker.stats.sent + worker.stats.retried
                    await worker.drain(limit=count)
                    if worker.stats.sent + worker.stats.retried == before:
                        break

            asyncio.run(run())
            elapsed = clock() - started
            if channel == Channel.WECOM:
                delivered = [s.at for s in wecom.shown]
                errors = len(wecom.dropped)
                wecom.shown.clear()
            else:
                delivered = [p.at for p in robots.posted]
                errors = robots.rate_errors
                robots.posted.clear()
                robots.rate_errors = 0
            span = (delivered[-1] - delivered[0]) if len(delivered) > 1 else elapsed
            rate = (len(delivered) - 1) / span if span > 0 else 0.0
            share = rate / limit
            found.append(
                figure(
                    f"{name}: {len(delivered)} sent, {errors} limit errors/drops",
                    count,
                    dbs.kind,
                    share * 100,
                    f"% of {shown}",
                    "90-100% of the limit, zero limit errors",
                    0.9 <= share <= 1.0 and errors == 0 and len(delivered) == count,
                )
            )
            engine.dispose()
    finally:
        wecom.stop()
        robots.stop()
    return found
