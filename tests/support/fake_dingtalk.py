"""A fake 钉钉 open API (gettoken, asyncsend_v2, getsendresult) on 127.0.0.1.

Tokens expire (`expire_tokens`: 42001; unknown: 40014). A message is queued as a task; its
result lists userids that are unknown (`invalid_user_id_list`) or over the daily quota
(`forbidden_list`, past `daily_quota` a user a day). The same content reaches a user once a day:
repeats are accepted and not shown (`deduped`). `quota_exceeded` makes the next sends answer
the app-wide quota errcode 143105.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_http import FakeHttp, Request

DAY = 86400.0


@dataclass
class Shown:
    user: str
    msg: dict[str, Any]
    at: float


@dataclass
class FakeDingTalk(FakeHttp):
    app_key: str = "ding-app-key"
    app_secret: str = "ding-app-secret-0987654321"
    agent_id: int = 2000003
    users: set[str] = field(default_factory=lambda: {"zhaolei", "sunli", "liming"})
    tokens: dict[str, float] = field(default_factory=dict)
    shown: list[Shown] = field(default_factory=list)
    deduped: list[Shown] = field(default_factory=list)
    results: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    daily_quota: int = 500
    quota_exceeded: int = 0  # the next N sends answer 143105
    token_fetches: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(7001))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {t: 0.0 for t in self.tokens}

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        now = self.clock()
        if request.path == "/gettoken":
            if (request.query.get("appkey"), request.query.get("appsecret")) != (
                self.app_key,
                self.app_secret,
            ):
                return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
            token = f"dtok{next(self._ids)}"
            self.tokens[token] = now + 7200
            self.token_fetches += 1
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
        if self.tokens[token] <= now:
            return 200, {"errcode": 42001, "errmsg": "access_token超时"}
        body = request.body
        if request.path.endswith("/corpconversation/getsendresult"):
            result = self.results.get(int(body.get("task_id", 0)))
            if result is None:
                return 200, {"errcode": 400001, "errmsg": "task not found"}
            return 200, {"errcode": 0, "errmsg": "ok", "send_result": result}
        if not request.path.endswith("/corpconversation/asyncsend_v2"):
            return 404, {"errcode": 404, "errmsg": "not found"}
        if self.quota_exceeded:
            self.quota_exceeded -= 1
            return 200, {"errcode": 143105, "errmsg": "企业自建应用每日推送给用户的消息超过上限"}
        msg = body.get("msg") or {}
        if body.get("agent_id") != self.agent_id or msg.get("msgtype") not in (
            "action_card",
            "oa",
            "markdown",
            "text",
        ):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 agent_id 或 msg"}
        kind = msg["msgtype"]
        if kind == "action_card" and not (msg.get("action_card") or {}).get("markdown"):
            return 200, {"errcode": 40035, "errmsg": "action_card.markdown 为空"}
        task_id = next(self._ids)
        result: dict[str, list[str]] = {
            "invalid_user_id_list": [],
            "forbidden_list": [],
            "failed_user_id_list": [],
            "read_user_id_list": [],
            "unread_user_id_list": [],
        }
        content = json.dumps(msg, sort_keys=True, ensure_ascii=False)
        for user in str(body.get("userid_list", "")).split(","):
            if user not in self.users:
                result["invalid_user_id_list"].append(user)
                continue
            today = [s for s in self.shown if s.user == user and now - s.at < DAY]
            item = Shown(user, msg, now)
            if any(json.dumps(s.msg, sort_keys=True, ensure_ascii=False) == content for s in today):
                self.deduped.append(item)  # DingTalk: once a day, silently
            elif len(today) >= self.daily_quota:
                result["forbidden_list"].append(user)
            else:
                self.shown.append(item)
            result["unread_user_id_list"].append(user)
        self.results[task_id] = result
        return 200, {"errcode": 0, "errmsg": "ok", "task_id": task_id, "request_id": f"r{task_id}"}
