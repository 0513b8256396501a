"""Replies that are never thrown away: kept messages and files, prompts, nudges, evidence.

A mixin of the handlers (core.py): what a reply means once the task it is about is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from ledger import lifecycle, reads
from ledger.context import WorkContext
from ledger.enums import TaskStatus
from ledger.errors import InvalidInput, LedgerError
from ledger.i18n import render
from ledger.models import Task
from ledger.outbox import find_sent, record_sent
from ledger.queries import TaskFilter
from ledger.texts import task_label

DONE_WORDS = ("已完成整改", "整改完成", "已整改", "已完成", "完成", "done", "finished", "completed")


def split_done(text: str) -> tuple[bool, str]:
    """'已完成，方案已印发' -> (True, '方案已印发'); anything else -> (False, text)."""
    stripped = text.strip()
    lowered = stripped.lower()
    for word in DONE_WORDS:
        if lowered.startswith(word):
            rest = stripped[len(word) :].lstrip(" ,，.。:：;；!！-—")
            return True, rest
    return False, stripped


class Replies:
    async def answer(self, update: Update, text: str, **kwargs: Any) -> Message | None:
        raise NotImplementedError  # core.Handlers sends

    async def send_nudge(self, update: Update, ctx: WorkContext, task_id: int) -> None:
        count = lifecycle.nudge(ctx, task_id)
        task = lifecycle.get_task(ctx, task_id)
        await self.answer(
            update, render("bot.reminded", ctx.actor.lang, label=task_label(task), count=count)
        )

    async def send_evidence(self, update: Update, ctx: WorkContext, evidence_id: int) -> None:
        """The file itself, to someone who may see its task: judged before 销号, not after."""
        evidence = reads.evidence_file(ctx, evidence_id)
        message = update.effective_message
        if message is None:
            return
        local = Path(evidence.local_path) if evidence.local_path else None
        document: Any = (
            local.read_bytes()
            if local is not None and local.is_file()
            else evidence.telegram_file_id
        )
        await message.reply_document(
            document=document,
            filename=evidence.file_name,
            caption=render(
                "bot.evidence_caption",
                ctx.actor.lang,
                task_id=evidence.task_id,
                file=evidence.file_name,
                sha=evidence.sha256[:12],
            ),
        )

    async def apply_text(
        self, update: Update, ctx: WorkContext, task_id: int, text: str, intent: str = ""
    ) -> None:
        """A reply about one task: 已完成… submits it, anything else is progress.

        What cannot be applied as asked is recorded as what it can be, and the person is told:
        "已完成…" on a 长期坚持 task becomes this month's progress report.
        """
        lang = ctx.actor.lang
        is_done, rest = split_done(text)
        if intent == "done" or (is_done and intent != "progress"):
            task, submitted = lifecycle.report_done(
                ctx, task_id, rest if is_done else text, said=text
            )
            await self.answer(update, self.done_text(ctx, task, submitted))
            return
        lifecycle.record_progress(ctx, task_id, text)
        task = lifecycle.get_task(ctx, task_id)
        await self.answer(update, render("bot.progress_recorded", lang, label=task_label(task)))

    @staticmethod
    def done_text(ctx: WorkContext, task: Task, submitted: bool) -> str:
        """What was recorded: submitted for 销号, or (长期坚持) this month's progress."""
        lang = ctx.actor.lang
        if submitted:
            return render("bot.submitted", lang, label=task_label(task))
        month = (
            f"{ctx.today.year}年{ctx.today.month}月"
            if lang == "zh"
            else ctx.today.strftime("%Y-%m")
        )
        return render("bot.long_term_progress", lang, label=task_label(task), month=month)

    async def ask_which(
        self,
        update: Update,
        ctx: WorkContext,
        pending: dict[str, Any],
        task_ids: list[int] | None = None,
    ) -> None:
        """这是哪项任务的？ The person's open tasks as buttons; the message waits for the choice."""
        lang = ctx.actor.lang
        if task_ids:
            views = reads.task_list(ctx, TaskFilter(task_ids=list(task_ids)[:20]), order="deadline")
        else:
            views = reads.open_tasks_of(ctx)
        views = [v for v in views if v.task.status != TaskStatus.CLOSED]
        if not views:
            if pending.get("local_path"):
                Path(pending["local_path"]).unlink(missing_ok=True)
            await self.answer(update, render("bot.reply_unknown", lang))
            return
        rows = [
            [InlineKeyboardButton(f"#{v.id} {v.task.title}"[:60], callback_data=f"a:pick:{v.id}")]
            for v in views
        ]
        await self.prompt(
            update,
            ctx,
            render("bot.reply_which", lang),
            task_id=None,
            params={"action": "pick", "pending": pending},
            markup=InlineKeyboardMarkup(rows),
        )

    async def prompt(
        self,
        update: Update,
        ctx: WorkContext,
        text: str,
        *,
        task_id: int | None,
        params: dict[str, Any],
        markup: Any = None,
    ) -> None:
        """Ask, and remember what was asked so the reply (or button) is applied to it."""
        from telegram import ForceReply

        sent = await self.answer(update, text, reply_markup=markup or ForceReply(selective=True))
        chat = update.effective_chat
        if sent is not None and chat is not None:
            record_sent(
                ctx.session,
                kind="prompt",
                chat_id=chat.id,
                message_id=sent.message_id,
                now=ctx.now,
                recipient_id=ctx.actor.official_id,
                task_id=task_id,
                params=params,
            )

    async def apply_picked(self, update: Update, ctx: WorkContext, task_id: int) -> None:
        """The task chosen for a kept message or file: apply it there, as a reply would be."""
        query = update.callback_query
        message = query.message if query is not None else None
        row = find_sent(ctx.session, message.chat.id, message.message_id) if message else None
        pending = row.params.get("pending") if row is not None else None
        if row is None or not pending or row.recipient_id != ctx.actor.official_id:
            raise InvalidInput("error.input", detail=render("bot.button_stale", ctx.actor.lang))
        if pending.get("local_path"):
            await self.apply_file(update, ctx, task_id, pending)
        else:
            await self.apply_text(update, ctx, task_id, str(pending.get("text", "")))
        row.params = {**row.params, "pending": None}  # one choice per kept message
        ctx.session.add(row)

    async def apply_file(
        self, update: Update, ctx: WorkContext, task_id: int, kept: dict[str, Any]
    ) -> None:
        """Store a kept file as evidence; a caption "已完成…" submits the task and says so."""
        lang = ctx.actor.lang
        caption = str(kept.get("caption") or "")
        fields = {k: v for k, v in kept.items() if k not in ("caption", "created")}
        try:
            lifecycle.add_evidence(ctx, task_id, **fields)
            task = lifecycle.get_task(ctx, task_id)
            text = render(
                "bot.evidence_recorded",
                lang,
                file=kept["file_name"],
                size=_size(int(kept["size"])),
                label=task_label(task),
            )
            if caption:
                is_done, rest = split_done(caption)
                if is_done:
                    task, submitted = lifecycle.report_done(ctx, task_id, rest, said=caption)
                    text += "\n" + self.done_text(ctx, task, submitted)
                else:
                    lifecycle.record_progress(ctx, task_id, caption)
                    text += "\n" + render("bot.progress_recorded", lang, label=task_label(task))
        except LedgerError:
            if kept.get("created"):  # refused evidence leaves no copy in evidence/ (nor backups)
                Path(str(kept["local_path"])).unlink(missing_ok=True)
            raise
        await self.answer(update, text)


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(size, 1) // 1024 or 1} KB"
