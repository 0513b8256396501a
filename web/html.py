"""HTML by hand: every value escaped, no inline script or style (the CSP forbids both)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from ledger.i18n import audit_action, render

LIGHT_CLASS = {"red": "l-red", "yellow": "l-yellow", "green": "l-green", "blue": "l-blue"}


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def t(key: str, lang: str, **params: Any) -> str:
    """A catalog phrase, escaped for HTML."""
    return e(render(key, lang, **params))


def page(title: str, body: str, lang: str, *, nav: str = "") -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/web.css">'
        '<link rel="stylesheet" href="/static/print.css" media="print">'
        f"</head><body>{nav}<main>{body}</main></body></html>"
    )


def light_badge(light: str, lang: str) -> str:
    """Colour plus text: never colour alone."""
    return f'<span class="light {LIGHT_CLASS.get(light, "l-closed")}">{t(f"light.{light}", lang)}</span>'


def notice(text: str, kind: str = "ok") -> str:
    return f'<p class="flash {kind}" role="status">{e(text)}</p>' if text else ""


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{e(name)}" value="{e(value)}">'


def options(values: Iterable[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == selected else ""}>{e(label)}</option>'
        for v, label in values
    )


def bar_chart(title: str, items: list[tuple[str, int]], *, width: int = 520) -> str:
    """Horizontal bars as server-side SVG (no script, no CDN); labels are text, values too."""
    if not items:
        return ""
    row_h, label_w, gap = 26, 190, 6
    top = max(v for _, v in items) or 1
    bar_w = width - label_w - 60
    height = len(items) * (row_h + gap) + gap
    rows = []
    for i, (label, value) in enumerate(items):
        y = gap + i * (row_h + gap)
        w = max(2, round(bar_w * value / top))
        short = label if len(label) <= 14 else label[:13] + "…"
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" class="bar-label">'
            f"<title>{e(label)}</title>{e(short)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{row_h}" class="bar"></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 18}" class="bar-value">{value}</text>'
        )
    return (
        f'<figure class="chart"><figcaption>{e(title)}</figcaption>'
        f'<svg role="img" aria-label="{e(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(rows)}</svg></figure>"
    )


def event_line(event: Any, lang: str, zone: Any) -> str:
    """One line of a task's history: when, who, what (in words), through what, and the detail."""
    when = event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    after = event.after or {}
    detail = next(
        (after[k] for k in ("reason", "note", "text", "file_name", "new_deadline") if after.get(k)),
        "",
    )
    extra = f'<div class="muted">{e(detail)}</div>' if detail else ""
    return (
        f"<li>{e(when)} {e(event.actor_name)} {e(audit_action(event.action, lang))}"
        f"（{t(f'via.{event.via}', lang)}）{extra}</li>"
    )
