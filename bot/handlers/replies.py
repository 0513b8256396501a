"""Replies that are never thrown away: kept messages and files, prompts, nudges, evidence.

A mixin of the handlers (core.py): what a reply means once the task it is about is known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.callbacks import encode_action
from ledger import evidence, lifecycle, reads
from ledger.context import WorkContext
from ledger.enums import Channel, NoticeKind, TaskStatus
from ledger.errors import InvalidInput
from ledger.i18n import render
from ledger.models import SentMessage, Task
from ledger.queries import TaskFilter
from ledger.sent import find_sent, record_sent
from ledger.texts import split_done, task_label


class Replies:
    async def answer(self, update: Update, text: str, **kwargs: Any) -> Message | None:
        raise NotImplementedError  # core.Handlers sends

    @staticmethod
    def replied_to(ctx: WorkContext, message: Message) -> SentMessage | None:
        """The message of ours that `message` replies to (a notice, a digest, a prompt)."""
        reply_to = message.reply_to_message
        if reply_to is None:
            return None
        return find_sent(ctx.session, Channel.TELEGRAM, message.chat_id, reply_to.message_id)

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
            else evidence.channel_file_id
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
            evidence.discard(pending)
            await self.answer(update, render("bot.reply_unknown", lang))
            return
        rows = [
            [
                InlineKeyboardButton(
                    f"#{v.id} {v.task.title}"[:60], callback_data=encode_action("pick", v.id)
                )
            ]
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
                channel=Channel.TELEGRAM,
                address=str(chat.id),
                kind=NoticeKind.PROMPT,
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
        row = (
            find_sent(ctx.session, Channel.TELEGRAM, message.chat.id, message.message_id)
            if message
            else None
        )
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
        done = evidence.attach(ctx, task_id, kept, str(kept.get("caption") or ""))
        text = render(
            "bot.evidence_recorded",
            lang,
            file=done.evidence.file_name,
            size=_size(done.evidence.size),
            label=task_label(done.task),
        )
        if done.submitted is not None:
            text += "\n" + self.done_text(ctx, done.task, done.submitted)
        elif done.progress:
            text += "\n" + render("bot.progress_recorded", lang, label=task_label(done.task))
        await self.answer(update, text)


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{max(size, 1) // 1024 or 1} KB"
