"""Human text for tasks, shared by the console, the bot and the notices."""

from __future__ import annotations

from collections.abc import Callable
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


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int, size: Callable[[str], int] = len) -> list[str]:
    """Parts of at most `limit` (as `size` measures: characters, or UTF-8 bytes for channels
    that count bytes), cut at line breaks where possible, else inside a line."""
    chunks: list[str] = []
    while size(text) > limit:
        fits = _longest_prefix(text, limit, size)
        cut = text.rfind("\n", 0, fits)
        if cut <= 0:
            cut = fits
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


def _longest_prefix(text: str, limit: int, size: Callable[[str], int]) -> int:
    """The most characters of `text` whose size is within `limit` (at least one)."""
    if size is len:
        return max(limit, 1)
    low, high = 1, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if size(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low
