"""Group robots: the weekly digest and the red list into a WeCom, DingTalk or Feishu group.

Each robot is one webhook (added with `ledgerbot groups add`); the worker paces each webhook
below its limit: WeCom and DingTalk take 20 messages a minute per robot (DingTalk mutes a robot
for 10 minutes past it, errcode 130101), Feishu 100 a minute and 5 a second. DingTalk and
Feishu robots may be signed (HMAC-SHA256 of "timestamp\\nsecret"). Markdown as each accepts;
a digest too long for one message is split. The webhook is a credential: never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from channels.common import call, card, client, failure_text, pieces, raise_for
from config import Settings
from ledger.clock import Clock
from ledger.delivery import Address
from ledger.enums import Channel
from ledger.i18n import render
from ledger.notices import Notice
from ledger.texts import utf8_size


@dataclass(frozen=True)
class Markdown:
    title: str
    text: str


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu: base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotSender:
    """What the three robots share: markdown parts within a byte budget, one POST each."""

    channel: Channel
    limit_bytes: int
    http: httpx.AsyncClient

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        pace_seconds: float,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.pace_seconds = pace_seconds
        self.http = http or client(settings.robots.timeout)

    def render(self, notice: Notice, lang: str) -> Sequence[Markdown]:
        shown = card(self.settings, notice, lang)
        link = f"\n\n[{render('channel.open_page', lang)}]({shown.link})" if shown.link else ""
        budget = self.limit_bytes - utf8_size(shown.title) - utf8_size(link) - 8
        parts = pieces(shown.body, budget, lang)
        return [
            Markdown(shown.title[:60], f"**{shown.title}**\n\n{piece}{link if last else ''}")
            for piece, last in zip(parts, [False] * (len(parts) - 1) + [True], strict=True)
        ]

    async def post(self, address: Address, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        return await call(
            self.http,
            "POST",
            address.value,
            params=params or None,
            json=body,
            secrets=(address.value, address.secret),
        )


class WeComRobotSender(RobotSender):
    channel = Channel.WECOM_ROBOT
    limit_bytes = 4096

    def __init__(self, settings: Settings, clock: Clock, http: httpx.AsyncClient | None = None):
        super().__init__(settings, clock, settings.robots.wecom_interval, http)

    async def send(self, address: Address, part: Markdown) -> int:
        data = await self.post(address, {"msgtype": "markdown", "markdown": {"content": part.text}})
        # 45009 too fast; 93000 invalid webhook (the robot was removed)
        code = int(data.get("errcode", 0))
        raise_for(code, "WeCom robot " + failure_text(data), rate={45009: 60.0}, gone={93000})
        return 0


class DingTalkRobotSender(RobotSender):
    channel = Channel.DINGTALK_ROBOT
    limit_bytes = 4000

    def __init__(self, settings: Settings, clock: Clock, http: httpx.AsyncClient | None = None):
        super().__init__(settings, clock, settings.robots.dingtalk_interval, http)

    async def send(self, address: Address, part: Markdown) -> int:
        params: dict[str, Any] = {}
        if address.secret:
            stamp = int(self.clock.now().timestamp() * 1000)
            params = {"timestamp": stamp, "sign": dingtalk_sign(address.secret, stamp)}
        # the sign is already URL-encoded: put it in the URL as is
        url = address.value + "".join(f"&{k}={v}" for k, v in params.items())
        data = await self.post(
            Address(url, secret=address.secret),
            {"msgtype": "markdown", "markdown": {"title": part.title, "text": part.text}},
        )
        # 130101 too fast: muted for 10 minutes; 300001 token gone, 400102 robot stopped,
        # 310000 signature, keyword or IP refused (every message would be)
        code = int(data.get("errcode", 0))
        reason = "DingTalk robot " + failure_text(data)
        raise_for(code, reason, rate={130101: 600.0}, gone={300001, 400102, 310000})
        return 0


class FeishuRobotSender(RobotSender):
    channel = Channel.FEISHU_ROBOT
    limit_bytes = 18_000  # the body may not exceed 20 KB

    def __init__(self, settings: Settings, clock: Clock, http: httpx.AsyncClient | None = None):
        super().__init__(settings, clock, settings.robots.feishu_interval, http)

    async def send(self, address: Address, part: Markdown) -> int:
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": part.title}},
                "elements": [{"tag": "markdown", "content": part.text}],
            },
        }
        if address.secret:
            stamp = int(self.clock.now().timestamp())
            body |= {"timestamp": str(stamp), "sign": feishu_sign(address.secret, stamp)}
        data = await self.post(address, body)
        # 9499/11232 too many requests; 19021 timestamp out of the hour (our clock): retried;
        # 19001 bad hook, 19002 robot gone, 19022/19024 IP or keyword refused
        code = int(data.get("code", data.get("StatusCode", 0)) or 0)
        reason = "Feishu robot " + failure_text(data, "code", "msg")
        raise_for(
            code,
            reason,
            rate={9499: 1.0, 11232: 1.0},
            gone={19001, 19002, 19022, 19024},
            transient={19021},
        )
        return 0
