"""Chinese official-document numbering: 一、 (一) 1、 (1), right past ten (十一, 二十三)."""

from __future__ import annotations

import re

_DIGITS = "零一二三四五六七八九"
_VALUES = {c: i for i, c in enumerate(_DIGITS)} | {"两": 2}


def chinese_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 11 -> 十一, 20 -> 二十, 99 -> 九十九, 100 -> 一百."""
    if n <= 0:
        raise ValueError("numbering starts at 1")
    if n < 10:
        return _DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        head = "" if tens == 1 else _DIGITS[tens]
        return head + "十" + (_DIGITS[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        if rest == 0:
            return _DIGITS[hundreds] + "百"
        middle = "零" if rest < 10 else ""
        tail = chinese_numeral(rest) if rest >= 20 or rest < 10 else "一" + chinese_numeral(rest)
        return _DIGITS[hundreds] + "百" + middle + tail
    raise ValueError("numbering beyond 999 is not used in ledgers")


def parse_chinese_numeral(text: str) -> int:
    if text.isdigit():
        return int(text)
    if not text or any(c not in _VALUES and c not in "十百" for c in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    total, current = 0, 0
    for char in text:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _VALUES[char]
    return total + current


_ASPECT = re.compile(
    r"^\s*(?:[(（]\s*([零一二三四五六七八九十百两\d]+)\s*[)）]|([零一二三四五六七八九十百两]+)\s*[、.．])\s*"
)
_PROBLEM = re.compile(r"^\s*(?:(\d+)\s*[、.．)）]|[(（]\s*(\d+)\s*[)）])\s*")


def split_aspect(text: str) -> tuple[int | None, str]:
    """'(三)打造…' -> (3, '打造…'); no numbering -> (None, text)."""
    match = _ASPECT.match(text)
    if not match:
        return None, text.strip()
    token = match.group(1) or match.group(2)
    return parse_chinese_numeral(token), text[match.end() :].strip()


def split_problem(text: str) -> tuple[int | None, str]:
    """'2、文化旅游…' -> (2, '文化旅游…')."""
    match = _PROBLEM.match(text)
    if not match:
        return None, text.strip()
    return int(match.group(1) or match.group(2)), text[match.end() :].strip()


def aspect_label(number: int) -> str:
    return f"({chinese_numeral(number)})"
