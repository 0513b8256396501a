"""Telegram as one sender of the delivery worker (`ledger.worker`): rendering within Telegram's
limits, one send per part, and Telegram's answers translated into the worker's four failures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot.redact import redact
from bot.render import keyboard, split_text
from bot.services import BotServices
from ledger.delivery import Address, RateLimited, Refused, Transient, Unreachable
from ledger.enums import Channel
from ledger.i18n import render
from ledger.notices import Button, Notice
from ledger.worker import Worker

NO_RETRIES = -1  # `rate_limit_args` for a send the limiter must not retry (0 would be ignored)
MAX_BUTTONS = 100  # Telegram refuses an inline keyboard with more
# a BadRequest that means the chat is gone, not that this message is wrong
GONE = ("chat not found", "user is deactivated", "bot was kicked", "not enough rights")


@dataclass(frozen=True)
class Part:
    text: str
    markup: InlineKeyboardMarkup | None = None


def button_groups(
    buttons: list[list[Button]], limit: int = MAX_BUTTONS
) -> list[list[list[Button]]]:
    """Rows of buttons in keyboards of at most `limit` buttons each, rows kept whole."""
    groups: list[list[list[Button]]] = []
    count = limit
    for row in buttons:
        if count + len(row) > limit:
            groups.append([])
            count = 0
        groups[-1].append(row)
        count += len(row)
    return groups


def link_text(notice: Notice, lang: str) -> str:
    """The notice's text with its web links as lines (Telegram refuses intranet URL buttons)."""
    lines = [
        render(link.label_key, lang, url=link.url, task_id=link.task_id) for link in notice.links
    ]
    return "\n".join([notice.text, *lines]) if lines else notice.text


class TelegramSender:
    """Sends parts with the bot; each part fits one Telegram message."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot, *, pace_seconds: float = 1.0) -> None:
        self.bot = bot
        # PTB's rate limiter (ExtBot) must not retry the worker's sends: the worker does
        limited = isinstance(bot, ExtBot) and bot.rate_limiter is not None
        self._no_retries: dict[str, Any] = {"rate_limit_args": NO_RETRIES} if limited else {}
        self.pace_seconds = pace_seconds  # Telegram: one message a second to a private chat

    def render(self, notice: Notice, lang: str) -> Sequence[Part]:
        """Texts of at most 4096 characters; keyboards of at most 100 buttons, the first on the
        last text part and any further ones on short continuation parts."""
        texts = split_text(link_text(notice, lang))
        groups = [keyboard(group, lang) for group in button_groups(notice.buttons)]
        if not groups:
            return [Part(text) for text in texts]
        parts = [Part(text) for text in texts[:-1]]
        parts.append(Part(texts[-1], groups[0]))
        parts += [Part(render("bot.buttons_continued", lang), markup) for markup in groups[1:]]
        return parts

    async def send(self, address: Address, part: Any) -> int:
        try:
            message = await self.bot.send_message(
                chat_id=int(address.value),  # an int: PTB's limiter takes a str for a group
                text=part.text,
                reply_markup=part.markup,
                **self._no_retries,
            )
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            raise RateLimited(seconds, self.describe(exc)) from None
        except Forbidden as exc:
            raise Unreachable(self.describe(exc)) from None
        except BadRequest as exc:
            if any(phrase in str(exc).lower() for phrase in GONE):
                raise Unreachable(self.describe(exc)) from None
            raise Refused(self.describe(exc)) from None
        except TelegramError as exc:  # timeouts and 5xx are NetworkErrors
            raise Transient(self.describe(exc)) from None
        return int(message.message_id)

    def describe(self, exc: Exception) -> str:
        """The error as stored and logged: its class and message, never the token."""
        return redact(f"{type(exc).__name__}: {exc}", self.bot.token)


class _NoRetriesIsNoError(logging.Filter):
    """PTB logs a 429 it did not retry as an ERROR with a traceback; for the worker's sends
    (retried by the worker) that is expected, and logged by the worker as a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg.startswith("Rate limit hit after maximum") and record.args == (0,))


class ReplyRetryingLimiter(AIORateLimiter):
    """PTB's limiter; replies (no `rate_limit_args`) are retried on a 429, the worker's sends
    (`NO_RETRIES`) are not: the worker waits and retries them itself."""

    reply_retries = 3

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        limiter_log = logging.getLogger("telegram.ext.AIORateLimiter")
        if not any(isinstance(f, _NoRetriesIsNoError) for f in limiter_log.filters):
            limiter_log.addFilter(_NoRetriesIsNoError())

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        retries = self.reply_retries if rate_limit_args is None else max(rate_limit_args, 0)
        return await super().process_request(callback, args, kwargs, endpoint, data, retries)


class Dispatcher(Worker):
    """The delivery worker with Telegram as its one sender (what `ledgerbot run` starts)."""

    def __init__(self, bot: Bot, services: BotServices) -> None:
        self.sender = TelegramSender(
            bot, pace_seconds=services.settings.telegram.private_chat_interval
        )
        super().__init__(services.engine, services.settings, services.clock, [self.sender])
