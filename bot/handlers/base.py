"""The handlers' plumbing: answering, the guard around every command, parsing helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.handlers.replies import Replies
from bot.render import (
    split_text,
)
from bot.services import BotServices
from ledger.context import WorkContext
from ledger.enums import MANAGER_ROLES
from ledger.errors import InvalidInput, LedgerError
from ledger.i18n import render

log = logging.getLogger(__name__)

MAX_INPUT = 2000
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class Base(Replies):
    def __init__(self, services: BotServices) -> None:
        self.svc = services

    # --- plumbing ------------------------------------------------------------------------
    async def answer(self, update: Update, text: str, **kwargs: Any) -> Message | None:
        message = update.effective_message
        if message is None:
            return None
        sent = None
        chunks = split_text(text)
        for index, chunk in enumerate(chunks):
            extra = kwargs if index == len(chunks) - 1 else {}
            sent = await message.reply_text(chunk, **extra)
        return sent

    def is_group(self, update: Update) -> bool:
        chat = update.effective_chat
        return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)

    async def guarded(
        self, update: Update, work: Callable[[WorkContext], Any], *, managers_only: bool = False
    ) -> None:
        """Run `work` as the sender; unbound users learn nothing; domain errors become replies."""
        user = update.effective_user
        with self.svc.work(user.id if user else None) as ctx:
            official = ctx.actor.official
            if official is None:
                if not self.is_group(update):
                    await self.answer(update, render("bot.unbound"))
                return
            if self.is_group(update) and official.role not in MANAGER_ROLES:
                return  # in groups only supervisors and leaders are answered
            if managers_only and official.role not in MANAGER_ROLES:
                await self.answer(update, render("bot.not_for_you", official.language))
                return
            try:
                await work(ctx)
            except LedgerError as exc:
                ctx.session.rollback()
                await self.answer(update, exc.text(official.language))

    @staticmethod
    def task_id(arg: str, lang: str) -> int:
        cleaned = arg.lstrip("#")
        if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 9:  # not '²'/'١'
            raise InvalidInput("error.input", detail=render("bot.bad_id", lang))
        return int(cleaned)

    @staticmethod
    def usage(lang: str, text: str) -> InvalidInput:
        return InvalidInput("error.input", detail=render("bot.usage", lang, usage=text))

    @staticmethod
    def check_length(text: str, lang: str) -> str:
        if len(text) > MAX_INPUT:
            raise InvalidInput(
                "error.input",
                detail=render("bot.too_long", lang, length=len(text), limit=MAX_INPUT),
            )
        return text
