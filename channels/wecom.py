"""企业微信 (and 政务微信, its private deployment with the same API on its own host): application
messages to one official's userid, as a `textcard` linking to the action page.

The access token (`gettoken`, 7200 s) is cached and fetched again when WeCom says it is invalid
or expired (errcodes 40014, 42001). `enable_duplicate_check` makes WeCom drop an identical card to
the same person within `duplicate_check_interval`. WeCom drops messages past 30 a minute and 1000 an hour per member *silently*, so the
worker paces each userid `wecom.member_interval` apart (3.7 s: 973 an hour, 16 a minute).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from channels.common import AppSender, card, message_number, pieces, raise_for
from config import Settings
from ledger.delivery import Address, Unreachable
from ledger.enums import Channel
from ledger.i18n import render
from ledger.notices import Notice
from ledger.texts import split_text, utf8_size

# invalid / expired access token: fetch a new one and retry
TOKEN_ERRORS = frozenset({40014, 42001})
UNKNOWN_USER = {60111, 81013, 40003}  # userid not found / all recipients invalid
RATE_ERRORS = {45009, 45033, 45047}  # API frequency, concurrent calls, per-member quota
NOT_ALLOWED = {60020, 48002, 301002}  # untrusted IP, API forbidden, no visibility of user
TITLE_BYTES, DESCRIPTION_BYTES = 128, 512  # textcard limits


@dataclass(frozen=True)
class TextCard:
    title: str
    description: str
    url: str


class WeComSender(AppSender):
    channel = Channel.WECOM
    name = "WeCom"
    token_errors = TOKEN_ERRORS

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.cfg = settings.wecom
        secret = self.cfg.resolved_secret() or ""
        super().__init__(settings, secret, self.cfg.api_base_url, self.cfg.timeout, http)
        self.pace_seconds = self.cfg.member_interval

    def token_request(self) -> tuple[str, dict[str, str]]:
        return "cgi-bin/gettoken", {"corpid": self.cfg.corp_id, "corpsecret": self.secret}

    def render(self, notice: Notice, lang: str) -> Sequence[TextCard]:
        """One card per 512 bytes of description; the title is the notice's first line."""
        shown = card(self.settings, notice, lang)
        title = split_text(shown.title, TITLE_BYTES, utf8_size)[0]
        link = shown.link or self.base
        body = f"{shown.body}\n{render('channel.open_page', lang)}" if shown.link else shown.body
        return [
            TextCard(title, piece, link)
            for piece in pieces(body or shown.title, DESCRIPTION_BYTES, lang)
        ]

    async def send(self, address: Address, part: TextCard) -> int:
        body = {
            "touser": address.value,
            "msgtype": "textcard",
            "agentid": self.cfg.agent_id,
            "textcard": {
                "title": part.title,
                "description": part.description,
                "url": part.url,
                "btntxt": render("channel.button", "zh"),
            },
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }
        code, data, reason = await self.post("cgi-bin/message/send", body)
        if code in UNKNOWN_USER or (code == 0 and data.get("invaliduser")):
            raise Unreachable(f"WeCom userid {address.value} unknown ({reason})")
        # untrusted IP, visibility, "system busy": the app's set-up or WeCom; retried
        raise_for(code, reason, rate=dict.fromkeys(RATE_ERRORS, 60.0), transient={-1, *NOT_ALLOWED})
        return message_number(str(data.get("msgid", "")))
