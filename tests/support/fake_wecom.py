"""A fake 企业微信 API (gettoken, message/send) on 127.0.0.1, after the documented shapes.

Tokens expire (`expire_tokens`: the next send gets 42001; an unknown token 40014). Unknown
userids are answered as WeCom does (81013 when every recipient is invalid). Per member it
*silently drops* what exceeds 30 a minute or 1000 an hour (errcode 0, not delivered: `dropped`),
and with `enable_duplicate_check` the same card to the same member within the interval is
accepted but shown once (`deduped`). A textcard's description over 512 bytes is refused (45002).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_http import FakeHttp, Request, Window


@dataclass
class Shown:
    user: str
    card: dict[str, Any]
    at: float


@dataclass
class FakeWeCom(FakeHttp):
    corp_id: str = "ww-corp"
    secret: str = "wecom-secret-1234567890"
    agent_id: int = 1000002
    users: set[str] = field(default_factory=lambda: {"zhaolei", "sunli", "liming"})
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    shown: list[Shown] = field(default_factory=list)
    dropped: list[Shown] = field(default_factory=list)
    deduped: list[Shown] = field(default_factory=list)
    token_fetches: int = 0
    per_minute: Window = field(default_factory=lambda: Window(60, 30))
    per_hour: Window = field(default_factory=lambda: Window(3600, 1000))
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {t: 0.0 for t in self.tokens}

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        if request.path == "/cgi-bin/gettoken":
            if (request.query.get("corpid"), request.query.get("corpsecret")) != (
                self.corp_id,
                self.secret,
            ):
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"tok{next(self._ids)}"
            self.tokens[token] = now + 7200
            self.token_fetches += 1
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if request.path != "/cgi-bin/message/send" or request.method != "POST":
            return 404, {"errcode": 404, "errmsg": "not found"}
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.tokens[token] <= now:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        body = request.body
        if body.get("msgtype") != "textcard" or body.get("agentid") != self.agent_id:
            return 200, {"errcode": 40008, "errmsg": "invalid message type or agentid"}
        textcard = body.get("textcard") or {}
        if not all(textcard.get(k) for k in ("title", "description", "url")):
            return 200, {"errcode": 41004, "errmsg": "missing textcard field"}
        if len(textcard["description"].encode()) > 512 or len(textcard["title"].encode()) > 128:
            return 200, {"errcode": 45002, "errmsg": "content size out of limit"}
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        valid = [u for u in users if u in self.users]
        if not valid:
            return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        for user in valid:
            item = Shown(user, textcard, now)
            interval = float(body.get("duplicate_check_interval", 1800))
            content = json.dumps(textcard, sort_keys=True)
            if body.get("enable_duplicate_check") and any(
                s.user == user
                and json.dumps(s.card, sort_keys=True) == content
                and now - s.at < interval
                for s in self.shown
            ):
                self.deduped.append(item)
            elif self.per_minute.full(user, now) or self.per_hour.full(user, now):
                self.dropped.append(item)  # WeCom says ok and drops it
            else:
                self.per_minute.add(user, now)
                self.per_hour.add(user, now)
                self.shown.append(item)
        invalid = "|".join(u for u in users if u not in self.users)
        return 200, {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": invalid,
            "msgid": f"msg{next(self._ids)}",
        }
