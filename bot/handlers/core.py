"""Handlers: parse the update, call one ledger service, render the answer. Thin on purpose."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.callbacks import PagePress, decode, encode_action
from bot.handlers.replies import Replies
from bot.invites import paused_reply
from bot.render import (
    evidence_rows,
    keyboard,
    main_keyboard,
    page_keyboard,
    split_text,
    task_line,
)
from bot.services import BotServices
from ledger import evidence, groups, lifecycle, reads
from ledger.access import is_owner, require_owner, require_supervisor
from ledger.context import WorkContext
from ledger.dates import parse_date
from ledger.enums import MANAGER_ROLES, Channel
from ledger.errors import InvalidInput, LedgerError, NotAllowed
from ledger.i18n import audit_action, render
from ledger.models import Task
from ledger.notices import MANAGER_BUTTONS, TASK_BUTTONS, bind_buttons
from ledger.officials import find_official, redeem_invite, set_language
from ledger.queries import (
    TaskFilter,
)
from ledger.texts import LIGHT_ICON, days_text, deadline_text, task_label

log = logging.getLogger(__name__)

MAX_INPUT = 2000
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class Handlers(Replies):
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

    # --- lists ---------------------------------------------------------------------------
    async def send_list(
        self,
        update: Update,
        ctx: WorkContext,
        list_name: str,
        flt: TaskFilter,
        title: str,
        page: int = 1,
        arg: str = "",
        *,
        edit: bool = False,
        order: str = "deadline",
        with_owner: bool = False,
    ) -> None:
        size = ctx.settings.policy.page_size
        total = reads.task_count(ctx, flt)
        lang = ctx.actor.lang
        if total == 0:
            text, markup = render("bot.no_tasks", lang), None
        else:
            pages = max(1, math.ceil(total / size))
            page = min(max(page, 1), pages)
            views = reads.task_list(ctx, flt, order=order, limit=size, offset=(page - 1) * size)
            lines = [task_line(v, lang, with_owner=with_owner) for v in views]
            text = (
                render("bot.list_title", lang, title=title, total=total, page=page, pages=pages)
                + "\n"
                + "\n".join(lines)
            )
            nav = page_keyboard(list_name, page, pages, arg)
            markup = InlineKeyboardMarkup([nav]) if nav else None
        query = update.callback_query
        if edit and query is not None and query.message is not None:
            await query.edit_message_text(text, reply_markup=markup)
        else:
            await self.answer(update, text, reply_markup=markup)

    def list_spec(self, ctx: WorkContext, name: str, arg: str) -> tuple[TaskFilter, str, str, bool]:
        official = ctx.actor.official
        assert official is not None
        lang = ctx.actor.lang
        if name == "mine":
            return (
                TaskFilter(owner_name=official.name, open_only=True),
                render("bot.title.mine", lang),
                "deadline",
                False,
            )
        if official.role not in MANAGER_ROLES:
            raise NotAllowed(why=render("bot.not_for_you", lang))
        if name == "overdue":
            return (
                TaskFilter(overdue=True),
                render("bot.title.overdue", lang),
                "overdue",
                True,
            )
        if name == "due":
            days = int(arg or 7)
            return (
                TaskFilter(due_within_days=days),
                render("bot.title.due", lang, days=days),
                "deadline",
                True,
            )
        if name == "pending":
            return (
                TaskFilter(awaiting_verification=True),
                render("bot.title.pending", lang),
                "deadline",
                True,
            )
        if name == "owner":
            target = find_official(ctx.session, arg)
            if target is None:
                raise InvalidInput("error.official_unknown", name=arg)
            return (
                TaskFilter(owner_name=target.name, open_only=True),
                render("bot.title.owner", lang, name=target.name),
                "deadline",
                True,
            )
        raise InvalidInput("error.input", detail=render("bot.button_stale", lang))

    def list_command(self, name: str, *, managers: bool) -> Handler:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            async def work(ctx: WorkContext) -> None:
                args = context.args or []
                arg = ""
                if name == "due" and args:
                    if not (args[0].isascii() and args[0].isdigit()) or int(args[0]) > 366:
                        raise self.usage(ctx.actor.lang, "/due [天数]")
                    arg = args[0]
                if name == "owner":
                    if not args:
                        raise self.usage(ctx.actor.lang, "/owner 姓名")
                    arg = " ".join(args)[:50]
                flt, title, order, with_owner = self.list_spec(ctx, name, arg)
                await self.send_list(
                    update, ctx, name, flt, title, 1, arg, order=order, with_owner=with_owner
                )
                if name == "pending":
                    await self.pending_buttons(update, ctx, flt)

            await self.guarded(update, work, managers_only=managers)

        handler.__doc__ = f"/{name}: a paged list."
        return handler

    async def pending_buttons(self, update: Update, ctx: WorkContext, flt: TaskFilter) -> None:
        """Each awaiting item with ✔ 销号 / ✖ 退回 buttons (first page only)."""
        views = reads.task_list(ctx, flt, order="deadline", limit=ctx.settings.policy.page_size)
        files = reads.evidence_of(ctx.session, [v.id for v in views])
        rows: list[list[InlineKeyboardButton]] = []
        for v in views:  # each item's decision, then its evidence files to open first
            stamp = lifecycle.submission_stamp(v.task)
            rows.append(
                [
                    InlineKeyboardButton(
                        f"✔ #{v.id}", callback_data=encode_action("approve", v.id, stamp)
                    ),
                    InlineKeyboardButton(
                        f"✖ #{v.id}", callback_data=encode_action("reject", v.id, stamp)
                    ),
                ]
            )
            rows += evidence_rows([e for e in files if e.task_id == v.id])
        if rows:
            lines = [f"#{v.id} {v.task.title}：{v.task.completion_note or '—'}" for v in views]
            await self.answer(update, "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))

    # --- task details and actions --------------------------------------------------------
    def detail(self, ctx: WorkContext, task_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
        """A task as the asker may see it, with its actions and each evidence file as a button."""
        detail = reads.task_detail(ctx, task_id)
        view, task = detail.view, detail.view.task
        lang = ctx.actor.lang
        text = render(
            "bot.detail",
            lang,
            icon=LIGHT_ICON[view.light],
            task_id=task.id,
            ref=task.ref,
            title=task.title,
            aspect=view.aspect.title,
            problem=view.problem.title,
            measures=task.measures or "—",
            kind=render(f"kind.{task.kind}", lang),
            status=render(f"status.{task.status}", lang),
            deadline=deadline_text(task, lang),
            days=days_text(task, ctx.today, lang),
            leaders="、".join(view.leaders) or "—",
            unit=task.lead_unit or "—",
            partners=task.participating_units or "—",
            owners="、".join(view.owners) or "—",
            supervisors="、".join(view.supervisors) or "—",
            level=task.escalation_level,
            progress=view.latest_progress or "—",
            evidence=view.evidence_count,
        )
        if detail.events:
            text += render("bot.history_title", lang)
            for event in detail.events:
                when = event.at.astimezone(ctx.settings.zone).strftime("%m-%d %H:%M")
                text += "\n" + render(
                    "bot.history_line",
                    lang,
                    when=when,
                    who=event.actor_name,
                    action=audit_action(event.action, lang),
                )
        official = ctx.actor.official
        owner = official is not None and is_owner(ctx.session, official, task)
        template = TASK_BUTTONS if owner or ctx.actor.is_operator else MANAGER_BUTTONS
        markup = keyboard(
            bind_buttons(template, task_id), lang, extra=evidence_rows(detail.evidence)
        )
        return text, markup

    async def task(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/task ID: details and history."""

        async def work(ctx: WorkContext) -> None:
            args = context.args or []
            if len(args) != 1:
                raise self.usage(ctx.actor.lang, "/task 编号")
            task_id = self.task_id(args[0], ctx.actor.lang)
            text, markup = self.detail(ctx, task_id)
            await self.answer(update, text, reply_markup=markup)

        await self.guarded(update, work)

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
            intent = row.params.get("action", "") if row.kind == "prompt" else ""
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

    # --- buttons -------------------------------------------------------------------------
    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Inline buttons. The data is parsed strictly and every action re-checked by services."""
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        await query.answer()  # stop the spinner at once; the outcome comes as a message

        async def work(ctx: WorkContext) -> None:
            lang = ctx.actor.lang
            press = decode(data)
            if isinstance(press, PagePress):
                flt, title, order, with_owner = self.list_spec(ctx, press.list_name, press.arg)
                await self.send_list(
                    update,
                    ctx,
                    press.list_name,
                    flt,
                    title,
                    press.page,
                    press.arg,
                    edit=True,
                    order=order,
                    with_owner=with_owner,
                )
                return
            if press is None:
                raise InvalidInput("error.input", detail=render("bot.button_stale", lang))
            await self.act(update, ctx, press.action, press.target, press.arg)

        await self.guarded(update, work)

    async def act(
        self, update: Update, ctx: WorkContext, action: str, target: int, arg: str = ""
    ) -> None:
        lang = ctx.actor.lang
        chat = update.effective_chat
        assert chat is not None
        if action == "details":
            text, markup = self.detail(ctx, target)
            await self.answer(update, text, reply_markup=markup)
        elif action in ("done", "progress", "extend", "reject"):
            task = lifecycle.get_task(ctx, target)
            if action == "reject":
                require_supervisor(ctx, task, "action.reject")
                lifecycle.check_submission(ctx, task, arg)
            else:
                require_owner(ctx, task)
                lifecycle.check_still_open(ctx, task, action)
            if action == "done" and lifecycle.evidence_count(ctx, target) > 0:
                lifecycle.mark_submitted(ctx, target, "")
                await self.answer(update, render("bot.submitted", lang, label=task_label(task)))
                return
            text = render(
                f"bot.prompt.{action}",
                lang,
                label=task_label(task),
                example=((task.deadline or ctx.today) + timedelta(days=30)).isoformat(),
            )
            await self.prompt(
                update, ctx, text, task_id=target, params={"action": action, "submission": arg}
            )
        elif action == "approve":
            task = lifecycle.verify(ctx, target, "", submission=arg)
            await self.answer(update, render("bot.approved", lang, label=task_label(task)))
        elif action == "remind":
            await self.send_nudge(update, ctx, target)
        elif action == "file":
            await self.send_evidence(update, ctx, target)
        elif action == "ext_no":
            # a refusal needs a reason, as 退回 does: ask for it, decide when it comes back
            request = lifecycle.get_extension(ctx, target, check_pending=True)
            task = lifecycle.get_task(ctx, request.task_id)
            await self.prompt(
                update,
                ctx,
                render("bot.prompt.ext_no", lang, label=task_label(task)),
                task_id=request.task_id,
                params={"action": "ext_no", "request_id": target},
            )
        elif action == "pick":
            await self.apply_picked(update, ctx, target)
        elif action in ("ext_yes",):
            request = lifecycle.decide_extension(ctx, target, approve=action == "ext_yes")
            task = lifecycle.get_task(ctx, request.task_id)
            key = "bot.ext_approved" if action == "ext_yes" else "bot.ext_rejected"
            await self.answer(
                update,
                render(
                    key,
                    lang,
                    label=task_label(task),
                    new=request.new_deadline.isoformat(),
                ),
            )
        else:
            raise InvalidInput("error.input", detail=render("bot.button_stale", lang))
