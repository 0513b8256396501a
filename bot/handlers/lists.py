"""Task lists (/mine, /overdue, /due, /pending, /owner) with pages, and one task's detail."""

from __future__ import annotations

import logging
import math

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.callbacks import encode_action
from bot.handlers.base import Handler
from bot.handlers.binding import Binding
from bot.render import (
    evidence_rows,
    keyboard,
    page_keyboard,
    task_line,
)
from ledger import lifecycle, reads
from ledger.context import WorkContext
from ledger.enums import MANAGER_ROLES
from ledger.errors import InvalidInput, NotAllowed
from ledger.i18n import audit_action, render
from ledger.notices import MANAGER_BUTTONS, TASK_BUTTONS, bind_buttons
from ledger.officials import find_official
from ledger.queries import (
    TaskFilter,
)
from ledger.texts import LIGHT_ICON, days_text, deadline_text

log = logging.getLogger(__name__)


class Lists(Binding):
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
        template = TASK_BUTTONS if detail.acts_as_owner else MANAGER_BUTTONS
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
