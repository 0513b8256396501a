"""Turning ledger notices and views into Telegram text and keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.callbacks import encode_action, encode_page
from ledger import texts
from ledger.enums import MANAGER_ROLES
from ledger.i18n import render
from ledger.models import Evidence, Official
from ledger.notices import Button
from ledger.queries import TaskView
from ledger.texts import LIGHT_ICON, days_text

MAX_TEXT = 4096


def keyboard(
    buttons: list[list[Button]],
    lang: str,
    *,
    extra: list[list[InlineKeyboardButton]] | None = None,
) -> InlineKeyboardMarkup | None:
    """Buttons of a notice; one naming a task number (digests) shows it: "✅ 已完成 #3"."""
    rows = [
        [
            InlineKeyboardButton(
                render(b.label_key, lang) + (f" #{b.number}" if b.number is not None else ""),
                callback_data=encode_action(b.action, b.target, b.arg),
            )
            for b in row
        ]
        for row in buttons
    ] + (extra or [])
    return InlineKeyboardMarkup(rows) if rows else None


def evidence_rows(evidence: list[Evidence]) -> list[list[InlineKeyboardButton]]:
    """Each evidence file as a button that sends it, so a supervisor can judge before 销号."""
    return [
        [
            InlineKeyboardButton(
                f"📎 #{e.task_id} {e.file_name}"[:60],
                callback_data=encode_action("file", e.id or 0),
            )
        ]
        for e in evidence[:20]
    ]


def main_keyboard(official: Official) -> ReplyKeyboardMarkup:
    lang = official.language
    row = [KeyboardButton(render("bot.kb.mine", lang))]
    if official.role in MANAGER_ROLES:
        row.append(KeyboardButton(render("bot.kb.overdue", lang)))
    row.append(KeyboardButton(render("bot.kb.help", lang)))
    return ReplyKeyboardMarkup([row], resize_keyboard=True, is_persistent=True)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram refuses texts over 4096 characters: split on line breaks where possible."""
    return texts.split_text(text, limit)


def task_line(view: TaskView, lang: str, *, with_owner: bool = False) -> str:
    params = {
        "icon": LIGHT_ICON[view.light],
        "task_id": view.id,
        "title": view.task.title,
        "days": days_text(view.task, view.today, lang),
        "owners": "、".join(view.owners) or "—",
        "unit": view.task.lead_unit or "—",
    }
    return render("bot.line_owner" if with_owner else "bot.line", lang, **params)


def page_keyboard(list_name: str, page: int, pages: int, arg: str) -> list[InlineKeyboardButton]:
    row = []
    if page > 1:
        row.append(InlineKeyboardButton("◀", callback_data=encode_page(list_name, page - 1, arg)))
    if page < pages:
        row.append(InlineKeyboardButton("▶", callback_data=encode_page(list_name, page + 1, arg)))
    return row
