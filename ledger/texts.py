"""Human text for tasks, shared by the console, the bot and the notices."""

from __future__ import annotations

from datetime import date

from ledger.enums import Light, TaskStatus
from ledger.i18n import render
from ledger.models import Task

LIGHT_ICON = {
    Light.RED: "🔴",
    Light.YELLOW: "🟡",
    Light.GREEN: "🟢",
    Light.BLUE: "🔵",
    Light.CLOSED: "✅",
}


def days_text(task: Task, today: date, lang: str = "zh") -> str:
    if task.status == TaskStatus.CLOSED:
        return render("status.closed", lang)
    if task.deadline is None:
        return render("deadline.none", lang)
    delta = (task.deadline - today).days
    if delta > 0:
        return render("days.left", lang, days=delta)
    if delta == 0:
        return render("days.today", lang)
    return render("days.overdue", lang, days=-delta)


def deadline_text(task: Task, lang: str = "zh") -> str:
    if task.deadline is None:
        return render("deadline.none", lang)
    text = task.deadline.isoformat()
    if task.original_deadline and task.original_deadline != task.deadline:
        text += render("deadline.extended", lang, original=task.original_deadline.isoformat())
    return text


def task_label(task: Task) -> str:
    """Every message names a task as #ID and title: the id every command takes."""
    return f"#{task.id} {task.title}"
