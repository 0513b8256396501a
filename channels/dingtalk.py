"""钉钉 work notifications (工作通知) to one official's userid, as an `action_card` whose button
opens the action page.

The access token (`gettoken?appkey&appsecret`, 7200 s) is cached and renewed when refused.
`asyncsend_v2` only queues the message: `getsendresult` then says whether the userid was
invalid or the user is out of quota. DingTalk shows the same content to a user once a day,
so every card carries its date (a reminder repeated tomorrow still arrives). Quota errors (the app's daily
limit per user or the API's rate) back off and retry later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from channels.common import AppSender, card, pieces, raise_for
from config import Settings
from ledger.clock import Clock
from ledger.delivery import Address, RateLimited, Unreachable
from ledger.enums import Channel
from ledger.i18n import render
from ledger.notices import Notice

TOKEN_ERRORS = frozenset({40014, 42001, 88})
RATE_ERRORS = {90018, 90002, 88000}  # API calls too frequent
QUOTA_ERRORS = {143105, 143106, 143103}  # daily push quota per user / per app reached
UNKNOWN_USER = {33012, 60121, 40103}
MARKDOWN_BYTES = 4000


@dataclass(frozen=True)
class ActionCard:
    title: str
    markdown: str
    url: str


class DingTalkSender(AppSender):
    channel = Channel.DINGTALK
    name = "DingTalk"
    token_errors = TOKEN_ERRORS

    def __init__(
        self, settings: Settings, clock: Clock, http: httpx.AsyncClient | None = None
    ) -> None:
        self.cfg = settings.dingtalk
        self.clock = clock
        secret = self.cfg.resolved_secret() or ""
        super().__init__(settings, secret, self.cfg.api_base_url, self.cfg.timeout, http)
        self.pace_seconds = self.cfg.member_interval

    def token_request(self) -> tuple[str, dict[str, str]]:
        return "gettoken", {"appkey": self.cfg.app_key, "appsecret": self.secret}

    def render(self, notice: Notice, lang: str) -> Sequence[ActionCard]:
        shown = card(self.settings, notice, lang)
        stamp = self.clock.now().astimezone(self.settings.zone).strftime("%Y-%m-%d")
        return [
            ActionCard(shown.title[:60], f"### {shown.title}\n\n{piece}\n\n> {stamp}", shown.link)
            for piece in pieces(shown.body or shown.title, MARKDOWN_BYTES, lang)
        ]

    async def send(self, address: Address, part: ActionCard) -> int:
        action: dict[str, str] = {"title": part.title, "markdown": part.markdown}
        if part.url:
            action |= {"single_title": render("channel.button", "zh"), "single_url": part.url}
        else:
            action |= {"single_title": part.title, "single_url": self.base}
        body = {
            "agent_id": self.cfg.agent_id,
            "userid_list": address.value,
            "msg": {"msgtype": "action_card", "action_card": action},
        }
        data = await self._api("topapi/message/corpconversation/asyncsend_v2", body)
        task_id = int(data.get("task_id", 0))
        result = await self._api(
            "topapi/message/corpconversation/getsendresult",
            {"agent_id": self.cfg.agent_id, "task_id": task_id},
        )
        outcome = result.get("send_result") or {}
        if address.value in (outcome.get("invalid_user_id_list") or []):
            raise Unreachable(f"DingTalk userid {address.value} unknown")
        if address.value in (outcome.get("forbidden_list") or []) or address.value in (
            outcome.get("failed_user_id_list") or []
        ):
            raise RateLimited(self.cfg.quota_backoff_seconds, "DingTalk: user's quota reached")
        return task_id

    async def _api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        code, data, reason = await self.post(path, body)
        rate = dict.fromkeys(RATE_ERRORS, 2.0) | dict.fromkeys(
            QUOTA_ERRORS, self.cfg.quota_backoff_seconds
        )
        raise_for(code, reason, rate=rate, gone=UNKNOWN_USER)
        return data
