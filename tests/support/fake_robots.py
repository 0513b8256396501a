"""Fake group robots on 127.0.0.1: WeCom 群机器人, DingTalk custom robot, Feishu custom bot.

Each checks its webhook's key or token and, when the robot is signed, the signature and that
the timestamp is within an hour. Limits as documented: WeCom 20 a minute (errcode 45009),
DingTalk 20 a minute and past it *muted for 10 minutes* (130101), Feishu 100 a minute and 5 a
second (9499); WeCom markdown at most 4096 bytes, Feishu's body at most 20 KB.
`rate_errors` counts every limit answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_http import FakeHttp, Request, Window


@dataclass
class Posted:
    robot: str
    kind: str  # wecom | dingtalk | feishu
    text: str
    at: float


@dataclass
class FakeRobots(FakeHttp):
    wecom_keys: set[str] = field(default_factory=set)
    dingtalk: dict[str, str] = field(default_factory=dict)  # access token -> secret ('' unsigned)
    feishu: dict[str, str] = field(default_factory=dict)  # hook token -> secret
    posted: list[Posted] = field(default_factory=list)
    rate_errors: int = 0
    wall: Any = None  # seconds since the epoch, for signatures (the sender's clock)
    minute: Window = field(default_factory=lambda: Window(60, 20))
    feishu_minute: Window = field(default_factory=lambda: Window(60, 100))
    feishu_second: Window = field(default_factory=lambda: Window(1, 5))
    muted_until: dict[str, float] = field(default_factory=dict)

    def url(self, kind: str, token: str) -> str:
        path = {
            "wecom": f"/cgi-bin/webhook/send?key={token}",
            "dingtalk": f"/robot/send?access_token={token}",
            "feishu": f"/open-apis/bot/v2/hook/{token}",
        }[kind]
        return self.base_url + path

    def texts(self, robot: str) -> list[str]:
        return [p.text for p in self.posted if p.robot == robot]

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        if request.path == "/cgi-bin/webhook/send":
            return self.wecom(request, now)
        if request.path == "/robot/send":
            return self.ding(request, now)
        if request.path.startswith("/open-apis/bot/v2/hook/"):
            return self.lark(request, now)
        return 404, {"errcode": 404}

    def wecom(self, request: Request, now: float) -> tuple[int, dict[str, Any]]:
        key = request.query.get("key", "")
        if key not in self.wecom_keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        body = request.body
        if body.get("msgtype") != "markdown":
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        content = str((body.get("markdown") or {}).get("content", ""))
        if len(content.encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        if self.minute.full("w" + key, now):
            self.rate_errors += 1
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        self.minute.add("w" + key, now)
        self.posted.append(Posted(key, "wecom", content, now))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def ding(self, request: Request, now: float) -> tuple[int, dict[str, Any]]:
        token = request.query.get("access_token", "")
        if token not in self.dingtalk:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        secret = self.dingtalk[token]
        if secret:
            stamp = request.query.get("timestamp", "")
            digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256)
            expected = base64.b64encode(digest.digest()).decode()
            if request.query.get("sign") != expected:
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
            if abs(int(stamp) / 1000 - self.epoch()) > 3600:
                return 200, {"errcode": 310000, "errmsg": "timestamp is expired"}
        if self.muted_until.get(token, 0) > now:
            self.rate_errors += 1
            return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        if self.minute.full("d" + token, now):
            self.rate_errors += 1
            self.muted_until[token] = now + 600
            return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        markdown = request.body.get("markdown") or {}
        if request.body.get("msgtype") != "markdown" or not markdown.get("title"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown.title"}
        self.minute.add("d" + token, now)
        self.posted.append(Posted(token, "dingtalk", str(markdown.get("text", "")), now))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def lark(self, request: Request, now: float) -> tuple[int, dict[str, Any]]:
        token = request.path.rsplit("/", 1)[-1]
        if token not in self.feishu:
            return 200, {
                "code": 19001,
                "msg": "param invalid: incoming webhook access token invalid",
            }
        body = request.body
        if len(json.dumps(body, ensure_ascii=False).encode()) > 20 * 1024:
            return 200, {"code": 9499, "msg": "request body too large"}
        secret = self.feishu[token]
        if secret:
            stamp = str(body.get("timestamp", "0"))
            digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
            if (
                body.get("sign") != base64.b64encode(digest).decode()
                or abs(int(stamp) - self.epoch()) > 3600
            ):
                return 200, {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        if self.feishu_second.full(token, now) or self.feishu_minute.full(token, now):
            self.rate_errors += 1
            return 200, {"code": 9499, "msg": "too many request"}
        self.feishu_second.add(token, now)
        self.feishu_minute.add(token, now)
        card = body.get("card") or {}
        text = "".join(str(e.get("content", "")) for e in card.get("elements", []))
        self.posted.append(Posted(token, "feishu", text, now))
        return 200, {"code": 0, "msg": "success", "data": {}}

    def epoch(self) -> float:
        import time

        return self.wall() if self.wall is not None else time.time()
