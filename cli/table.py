"""Console tables that line up with Chinese characters (two columns wide each)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    total = 0
    for char in text:
        if unicodedata.combining(char) or char in "\ufe0f\u200d":
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out = ""
    for char in text:
        if width(out + char) > limit - 1:
            break
        out += char
    return out + "…"


def pad(text: str, size: int) -> str:
    return text + " " * max(size - width(text), 0)


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], limits: Sequence[int]
) -> str:
    cells = [[clip(str(c), lim) for c, lim in zip(row, limits, strict=True)] for row in rows]
    sizes = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(pad(h, s) for h, s in zip(headers, sizes, strict=True)).rstrip()]
    lines.append("  ".join("-" * s for s in sizes))
    for row in cells:
        lines.append("  ".join(pad(c, s) for c, s in zip(row, sizes, strict=True)).rstrip())
    return "\n".join(lines)
