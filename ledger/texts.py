"""Human text for tasks, shared by the console, the bot and the notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ledger.enums import Light, TaskStatus
from ledger.i18n import render
from ledger.models import Task

LIGHT_ICON: dict[str, str] = {  # the one icon map, keyed by Light
    Light.RED: "🔴",
    Light.YELLOW: "🟡",
    Light.GREEN: "🟢",
    Light.BLUE: "🔵",
    Light.CLOSED: "✅",
}


def day_phrase(days_left: int | None, lang: str = "zh") -> str:
    """剩N天 / 今天到期 / 逾期N天 (or 无期限): the one home of the day phrase."""
    if days_left is None:
        return render("deadline.none", lang)
    if days_left > 0:
        return render("days.left", lang, days=days_left)
    if days_left == 0:
        return render("days.today", lang)
    return render("days.overdue", lang, days=-days_left)


def days_text(task: Task, today: date, lang: str = "zh") -> str:
    if task.status == TaskStatus.CLOSED:
        return render("status.closed", lang)
    return day_phrase((task.deadline - today).days if task.deadline else None, lang)


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


# the words that make a reply "done" (a submission for 销号), longest first
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
