"""Plain messages and files: keyboard words, replies to reminders and prompts, evidence."""

from __future__ import annotations

import io
import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.managers import Managers
from ledger import evidence, lifecycle
from ledger.access import require_owner
from ledger.context import WorkContext
from ledger.enums import Channel, NoticeKind
from ledger.i18n import render
from ledger.texts import task_label

log = logging.getLogger(__name__)


class Incoming(Managers):
    # --- replies, files, keyboard words ---------------------------------------------------
    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A plain message: a keyboard word, or a reply to a reminder or prompt."""
        message = update.effective_message
        if message is None or message.text is None:
            return
        words = message.text.strip()
        for key, name in (("bot.kb.mine", "mine"), ("bot.kb.overdue", "overdue")):
            if words in (render(key, "zh"), render(key, "en")):
                context.args = []
                await self.list_command(name, managers=name != "mine")(update, context)
                return
        if words in (render("bot.kb.help", "zh"), render("bot.kb.help", "en")):
            await self.help(update, context)
            return

        async def work(ctx: WorkContext) -> None:
            row = self.replied_to(ctx, message)
            lang = ctx.actor.lang
            text = self.check_length(words, lang)
            if row is None or row.task_id is None:
                # no task to apply it to: keep the message and ask which task it is about
                digest = row.params.get("digest_task_ids") if row is not None else None
                await self.ask_which(update, ctx, {"text": text}, digest)
                return
            task_id = row.task_id
            intent = row.params.get("action", "") if row.kind == NoticeKind.PROMPT else ""
            if intent == "extend":
                await self.extend_with(update, ctx, task_id, text.split())
                return
            if intent == "reject":
                # the 退回 button was for one submission: a reason typed later applies to it only
                submission = row.params.get("submission")
                task = lifecycle.reject(ctx, task_id, text, submission=submission)
                await self.answer(update, render("bot.rejected", lang, label=task_label(task)))
                return
            if intent == "ext_no":
                request = lifecycle.decide_extension(
                    ctx, int(row.params["request_id"]), approve=False, note=text
                )
                task = lifecycle.get_task(ctx, request.task_id)
                await self.answer(update, render("bot.ext_rejected", lang, label=task_label(task)))
                return
            await self.apply_text(update, ctx, task_id, text, intent)

        await self.guarded(update, work)

    async def file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo or document in reply to a reminder: evidence (佐证材料)."""
        message = update.effective_message
        if message is None:
            return

        async def work(ctx: WorkContext) -> None:
            row = self.replied_to(ctx, message)
            task = lifecycle.get_task(ctx, row.task_id) if row and row.task_id else None
            if task is not None:
                require_owner(ctx, task)
            if message.document is not None:
                doc = message.document
                file_id, unique = doc.file_id, doc.file_unique_id
                name = doc.file_name or f"{unique}.bin"
                size, mime = doc.file_size or 0, doc.mime_type or ""
            else:
                photo = message.photo[-1]
                file_id, unique = photo.file_id, photo.file_unique_id
                name, size, mime = f"photo-{unique}.jpg", photo.file_size or 0, "image/jpeg"
            if task is not None:
                lifecycle.check_evidence(ctx, task, size)
            else:
                lifecycle.check_evidence_size(ctx, size)
            download = await context.bot.get_file(file_id)
            buffer = io.BytesIO()
            await download.download_to_memory(buffer)
            kept = evidence.keep(
                ctx,
                task.id if task is not None else None,
                name,
                buffer.getvalue(),
                mime_type=mime,
                channel=Channel.TELEGRAM,
                channel_file_id=file_id,
                channel_file_unique_id=unique,
                caption=self.check_length((message.caption or "").strip(), ctx.actor.lang),
            )
            if task is None:
                # not a reply to a task: keep the file and ask which task it belongs to
                digest = row.params.get("digest_task_ids") if row is not None else None
                await self.ask_which(update, ctx, kept, digest)
                return
            await self.apply_file(update, ctx, task.id or 0, kept)

        await self.guarded(update, work)
