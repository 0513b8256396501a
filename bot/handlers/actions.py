"""What owners and supervisors do to a task: done, progress, extensions, decisions, 催办, 回头看."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.base import Handler
from bot.handlers.lists import Lists
from ledger import lifecycle
from ledger.context import WorkContext
from ledger.dates import parse_date
from ledger.errors import InvalidInput
from ledger.i18n import render
from ledger.models import Task
from ledger.texts import task_label

log = logging.getLogger(__name__)


class Actions(Lists):
    async def done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/done ID [note]"""

        async def work(ctx: WorkContext) -> None:
            args = context.args or []
            if not args:
                raise self.usage(ctx.actor.lang, "/done 编号 [完成说明]")
            task_id = self.task_id(args[0], ctx.actor.lang)
            note = self.check_length(" ".join(args[1:]), ctx.actor.lang)
            task, submitted = lifecycle.report_done(ctx, task_id, note, said=note)
            await self.answer(update, self.done_text(ctx, task, submitted))

        await self.guarded(update, work)

    async def progress(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/progress ID text"""

        async def work(ctx: WorkContext) -> None:
            args = context.args or []
            if len(args) < 2:
                raise self.usage(ctx.actor.lang, "/progress 编号 进展内容")
            task_id = self.task_id(args[0], ctx.actor.lang)
            text = self.check_length(" ".join(args[1:]), ctx.actor.lang)
            lifecycle.record_progress(ctx, task_id, text)
            task = lifecycle.get_task(ctx, task_id)
            await self.answer(
                update,
                render("bot.progress_recorded", ctx.actor.lang, label=task_label(task)),
            )

        await self.guarded(update, work)

    async def extend_with(
        self, update: Update, ctx: WorkContext, task_id: int, words: list[str]
    ) -> None:
        usage = self.extend_usage(ctx)
        if len(words) < 2:
            raise self.usage(ctx.actor.lang, usage)
        try:
            new_date = parse_date(words[0])
        except ValueError:
            raise InvalidInput("error.bad_date", value=words[0][:30]) from None
        reason = self.check_length(" ".join(words[1:]), ctx.actor.lang)
        task = lifecycle.get_task(ctx, task_id)
        old = task.deadline
        lifecycle.request_extension(ctx, task_id, new_date, reason)
        await self.answer(
            update,
            render(
                "bot.extension_sent",
                ctx.actor.lang,
                label=task_label(task),
                old=old.isoformat() if old else "—",
                new=new_date.isoformat(),
            ),
        )

    @staticmethod
    def extend_usage(ctx: WorkContext) -> str:
        """Usage with an example date relative to today, never one long past."""
        return f"/extend 编号 YYYY-MM-DD 理由（例如 /extend 12 {(ctx.today + timedelta(days=30)).isoformat()} 需等待上级批复）"

    async def extend(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/extend ID YYYY-MM-DD reason"""

        async def work(ctx: WorkContext) -> None:
            args = context.args or []
            if len(args) < 3:
                raise self.usage(ctx.actor.lang, self.extend_usage(ctx))
            await self.extend_with(update, ctx, self.task_id(args[0], ctx.actor.lang), args[1:])

        await self.guarded(update, work)

    def decision(
        self,
        service: Callable[[WorkContext, int, str], Task],
        usage: str,
        reply_key: str,
        *,
        reason_required: bool,
    ) -> Handler:
        """A supervisor's `/command ID [text]` on one task: approve, reject, reopen, long-term."""

        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            async def work(ctx: WorkContext) -> None:
                args = context.args or []
                if len(args) < (2 if reason_required else 1):
                    raise self.usage(ctx.actor.lang, usage)
                text = self.check_length(" ".join(args[1:]), ctx.actor.lang)
                task = service(ctx, self.task_id(args[0], ctx.actor.lang), text)
                await self.answer(update, render(reply_key, ctx.actor.lang, label=task_label(task)))

            await self.guarded(update, work, managers_only=True)

        handler.__doc__ = usage
        return handler

    async def remind(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/remind ID: 一键催办."""

        async def work(ctx: WorkContext) -> None:
            args = context.args or []
            if len(args) != 1:
                raise self.usage(ctx.actor.lang, "/remind 编号")
            await self.send_nudge(update, ctx, self.task_id(args[0], ctx.actor.lang))

        await self.guarded(update, work, managers_only=True)

    async def reopen(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reopen ID [YYYY-MM-DD] reason: 回头看 with a new deadline."""

        async def work(ctx: WorkContext) -> None:
            args = context.args or []
            lang = ctx.actor.lang
            example = (ctx.today + timedelta(days=14)).isoformat()
            usage = f"/reopen 编号 [{example}] 理由"
            if len(args) < 2:
                raise self.usage(lang, usage)
            task_id = self.task_id(args[0], lang)
            deadline = None
            rest = args[1:]
            if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", rest[0]):
                try:
                    deadline = parse_date(rest[0])
                except ValueError:
                    raise InvalidInput("error.bad_date", value=rest[0][:30]) from None
                rest = rest[1:]
            if not rest:
                raise self.usage(lang, usage)
            reason = self.check_length(" ".join(rest), lang)
            task = lifecycle.reopen(ctx, task_id, reason, deadline=deadline)
            await self.answer(
                update,
                render(
                    "bot.reopened",
                    lang,
                    label=task_label(task),
                    new=task.deadline.isoformat() if task.deadline else "—",
                ),
            )

        await self.guarded(update, work, managers_only=True)
