"""Button data: the one encoder and decoder for every inline button the bot sends.

Telegram returns whatever a client puts in `callback_data`, so a press is decoded strictly
(known action, ASCII digits of bounded length, known list) and anything else is `None`,
which the handler answers with "已失效". What the press may do is checked again by the
services against the task as it is now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DATA = 64  # bytes, Telegram's limit
MAX_ID_DIGITS = 9
MAX_PAGE = 9999
MAX_DUE_DAYS = 366
MAX_OWNER_ARG = 50

ACTIONS = frozenset(
    {
        "details",
        "done",
        "progress",
        "extend",
        "reject",
        "approve",
        "ext_yes",
        "ext_no",
        "remind",  # 催办 from a leader's or supervisor's notice
        "file",  # send an evidence file (target: the evidence id)
        "pick",  # the task a kept message or file is about
    }
)
LISTS = frozenset({"mine", "overdue", "due", "pending", "owner"})
_ID = re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}")
_STAMP = re.compile(r"[0-9]{1,17}")  # a task id, or a submission instant in µs


@dataclass(frozen=True)
class ActionPress:
    """`a:ACTION:ID[:ARG]`: an action on a task (or, for ext_*, an extension request)."""

    action: str
    target: int
    arg: str = ""


@dataclass(frozen=True)
class PagePress:
    """`p:LIST:PAGE:ARG`: another page of a list."""

    list_name: str
    page: int
    arg: str = ""


Press = ActionPress | PagePress


def encode_action(action: str, target: int, arg: str = "") -> str:
    data = f"a:{action}:{target}" + (f":{arg}" if arg else "")
    if action not in ACTIONS or len(data.encode()) > MAX_DATA:
        raise ValueError(f"cannot encode button {data!r}")
    return data


def encode_page(list_name: str, page: int, arg: str = "") -> str:
    data = f"p:{list_name}:{page}:{arg}"
    while len(data.encode()) > MAX_DATA:  # a long owner name: cut, the list says whose it is
        arg = arg[:-1]
        data = f"p:{list_name}:{page}:{arg}"
    if list_name not in LISTS:
        raise ValueError(f"cannot encode page {data!r}")
    return data


def _list_arg(list_name: str, arg: str) -> str | None:
    if list_name == "due":
        if arg == "":
            return arg
        if not _ID.fullmatch(arg) or int(arg) > MAX_DUE_DAYS:
            return None
        return arg
    if list_name == "owner":
        arg = arg.strip()
        if not arg or len(arg) > MAX_OWNER_ARG or not arg.isprintable():
            return None
        return arg
    return arg if arg == "" else None


def decode(data: str | None) -> Press | None:
    """The press, or None for anything this bot would not have sent."""
    if not data or len(data.encode()) > MAX_DATA:
        return None
    parts = data.split(":")
    if parts[0] == "a" and len(parts) in (3, 4):
        action, target = parts[1], parts[2]
        arg = parts[3] if len(parts) == 4 else ""
        if action not in ACTIONS or not _ID.fullmatch(target):
            return None
        if arg and not (_STAMP.fullmatch(arg)):
            return None
        return ActionPress(action, int(target), arg)
    if parts[0] == "p" and len(parts) >= 4:
        list_name, page = parts[1], parts[2]
        arg = ":".join(parts[3:])
        if list_name not in LISTS or not _ID.fullmatch(page) or not 1 <= int(page) <= MAX_PAGE:
            return None
        checked = _list_arg(list_name, arg)
        if checked is None:
            return None
        return PagePress(list_name, int(page), checked)
    return None
