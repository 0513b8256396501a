"""What managers receive: statistics, the export, the report, and group subscriptions."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.actions import Actions
from ledger import groups, reads
from ledger.context import WorkContext
from ledger.enums import Channel
from ledger.i18n import render

log = logging.getLogger(__name__)


class Managers(Actions):
    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: by aspect, with the completion rate."""

        async def work(ctx: WorkContext) -> None:
            assert ctx.actor.official is not None
            lang = ctx.actor.lang
            rows = reads.aspect_stats(ctx)
            if not rows:
                await self.answer(update, render("bot.no_tasks", lang))
                return
            from ledger.numbering import aspect_label

            lines = [
                render(
                    "bot.stats_line",
                    lang,
                    label=f"{aspect_label(r.number)}{r.title}",
                    total=r.total,
                    closed=r.closed,
                    not_started=r.not_started,
                    in_progress=r.in_progress,
                    submitted=r.submitted,
                    long_term=r.long_term,
                    overdue=r.overdue,
                )
                for r in rows
            ]
            total = sum(r.total for r in rows)
            closed = sum(r.closed for r in rows)
            closable = total - sum(r.long_term for r in rows)
            rate = round(100 * closed / closable, 1) if closable else 100.0
            lines.append(
                render(
                    "bot.stats_total",
                    lang,
                    total=total,
                    rate=rate,
                    closed=closed,
                    closable=closable,
                )
            )
            await self.answer(update, "\n".join(lines))

        await self.guarded(update, work, managers_only=True)

    async def export(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/export: the ledger (what the user may see) as xlsx."""

        async def work(ctx: WorkContext) -> None:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"整改台账-{ctx.today.isoformat()}.xlsx"
                # heavy: off the event loop, so delivery goes on
                await asyncio.to_thread(reads.export, ctx, path)
                message = update.effective_message
                if message is not None:
                    await message.reply_document(
                        document=path.read_bytes(),
                        filename=path.name,
                        caption=render(
                            "bot.export_caption", ctx.actor.lang, date=ctx.today.isoformat()
                        ),
                    )

        await self.guarded(update, work, managers_only=True)

    async def report(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/report [public]: the rectification report of the latest round the user oversees."""

        async def work(ctx: WorkContext) -> None:
            import tempfile

            from ledger.reports import write_report

            public = any(a.lower() in ("public", "公开") for a in (context.args or []))
            round_name = reads.latest_round(ctx)
            if round_name is None:
                await self.answer(update, render("bot.no_tasks", ctx.actor.lang))
                return
            # heavy: off the event loop, so delivery goes on
            data = await asyncio.to_thread(reads.report_data, ctx, round_name)
            with tempfile.TemporaryDirectory() as tmp:
                suffix = "公开版" if public else "内部版"
                path = Path(tmp) / f"整改落实情况报告-{suffix}-{ctx.today.isoformat()}.docx"
                await asyncio.to_thread(write_report, data, path, public=public)
                message = update.effective_message
                if message is not None:
                    await message.reply_document(
                        document=path.read_bytes(),
                        filename=path.name,
                        caption=render(
                            "bot.report_caption",
                            ctx.actor.lang,
                            round=round_name,
                            rate=data.completion_rate,
                        ),
                    )

        await self.guarded(update, work, managers_only=True)

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/subscribe in a group: weekly digest and red list to the 领导小组."""

        async def work(ctx: WorkContext) -> None:
            chat = update.effective_chat
            assert chat is not None and ctx.actor.official is not None
            if not self.is_group(update):
                await self.answer(update, render("bot.group_only", ctx.actor.lang))
                return
            groups.subscribe(ctx, Channel.TELEGRAM, str(chat.id), title=chat.title or "")
            await self.answer(update, render("bot.subscribed", ctx.actor.lang))

        await self.guarded(update, work)
