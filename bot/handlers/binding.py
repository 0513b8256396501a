"""Binding an account with an invite code, help, language, unknown commands."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.handlers.base import Base
from bot.invites import paused_reply
from bot.render import (
    main_keyboard,
)
from ledger.context import WorkContext
from ledger.enums import MANAGER_ROLES, Channel
from ledger.errors import InvalidInput, LedgerError
from ledger.i18n import render
from ledger.officials import redeem_invite, set_language

log = logging.getLogger(__name__)


class Binding(Base):
    # --- binding and help ----------------------------------------------------------------
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Bind with an invite code, or greet."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        args = context.args or []
        if args and chat.type == ChatType.PRIVATE:
            with self.svc.work(user.id) as ctx:
                guesses = self.svc.invite_guesses
                paused = paused_reply(guesses, ctx, user.id, chat.id)
                if paused is not None:
                    await self.answer(update, paused)
                    return
                result = redeem_invite(
                    ctx,
                    args[0][:64],
                    channel=Channel.TELEGRAM,
                    address=str(user.id),
                    audit_refusal=guesses.starts_burst(user.id, chat.id, ctx.now),
                )
                if result.error is not None or result.official is None:
                    guesses.failed(user.id, chat.id, ctx.now)
                    error = result.error or LedgerError("error.invite_unknown")
                    await self.answer(update, error.text("zh"))
                    return
                guesses.succeeded(user.id, chat.id)
                official = result.official
                queued = (
                    render("bot.bound_queued", official.language, count=result.queued)
                    if result.queued
                    else ""
                )
                await self.answer(
                    update,
                    render(
                        "bot.bound",
                        official.language,
                        name=official.name,
                        role=render(f"orole.{official.role}", official.language),
                        queued=queued,
                    ),
                    reply_markup=main_keyboard(official),
                )
            return

        async def greet(ctx: WorkContext) -> None:
            assert ctx.actor.official is not None
            await self.answer(
                update,
                render("bot.welcome", ctx.actor.lang, name=ctx.actor.official.name),
                reply_markup=main_keyboard(ctx.actor.official),
            )

        await self.guarded(update, greet)

    async def web(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/web: a one-time sign-in link to the dashboard, in a private chat only."""

        async def work(ctx: WorkContext) -> None:
            from ledger.links import TooManyLinks, create_signin

            lang = ctx.actor.lang
            if self.is_group(update):
                await self.answer(update, render("bot.web_private", lang))
                return
            assert ctx.actor.official is not None
            try:
                url = create_signin(ctx, ctx.actor.official)
            except TooManyLinks as exc:
                raise InvalidInput("error.links_throttled", minutes=exc.minutes) from None
            minutes = ctx.settings.web.signin_minutes
            await self.answer(update, render("link.signin", lang, minutes=minutes, url=url))

        await self.guarded(update, work, managers_only=True)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Usage in the user's language; managers see their commands too."""

        async def work(ctx: WorkContext) -> None:
            assert ctx.actor.official is not None
            text = render("bot.help.owner", ctx.actor.lang)
            if ctx.actor.official.role in MANAGER_ROLES:
                text += render("bot.help.manager", ctx.actor.lang)
            await self.answer(update, text, reply_markup=main_keyboard(ctx.actor.official))

        await self.guarded(update, work)

    async def lang(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/lang zh|en"""

        async def work(ctx: WorkContext) -> None:
            assert ctx.actor.official is not None
            args = context.args or []
            if len(args) != 1 or args[0] not in ("zh", "en"):
                raise self.usage(ctx.actor.lang, "/lang zh|en")
            set_language(ctx, ctx.actor.official, args[0])
            await self.answer(
                update,
                render("bot.lang_set", args[0]),
                reply_markup=main_keyboard(ctx.actor.official),
            )

        await self.guarded(update, work)

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unknown commands get usage, never silence."""

        async def work(ctx: WorkContext) -> None:
            await self.answer(update, render("bot.unknown_command", ctx.actor.lang))

        await self.guarded(update, work)
