"""Inline buttons: decoded by bot/callbacks.py, applied through the same services."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import ContextTypes

from bot.callbacks import PagePress, decode
from bot.handlers.incoming import Incoming
from ledger import lifecycle
from ledger.access import require_owner, require_supervisor
from ledger.context import WorkContext
from ledger.errors import InvalidInput
from ledger.i18n import render
from ledger.texts import task_label

log = logging.getLogger(__name__)


class Buttons(Incoming):
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
