"""A real Application driven by real Update objects over a recording request layer."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest
from sqlmodel import select

from bot.app import build_application
from ledger.models import Official
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import bind_telegram, build_ledger
from tests.fakes import RecordingRequest

TOKEN = "123456:TESTTOKENabcdefghijklmnopqrstuvwxyz"
TODAY = date(2026, 11, 2)
USERS = {
    "赵磊": 1001,
    "孙丽": 1002,
    "陈静": 2001,
    "李明": 3001,
    "张伟": 3002,
    "王建国": 4001,
    "管理员": 5001,
}
_ids = count(1)


@pytest.fixture
def request_layer():
    return RecordingRequest()


@pytest.fixture
def ledger(session, settings, tmp_path):
    built = build_ledger(session, settings, SHANGHAI_9AM_UTC, tmp_path, today=TODAY)
    for official in session.exec(select(Official)):
        if official.name in USERS:
            bind_telegram(session, official, USERS[official.name], now=SHANGHAI_9AM_UTC)
    session.commit()
    return built


@pytest.fixture
async def app(settings, engine, clock, request_layer, ledger):
    application = build_application(
        settings, engine, token=TOKEN, clock=clock, request=request_layer
    )
    await application.initialize()
    yield application
    await application.shutdown()


def message_update(
    user_id: int,
    text: str = "",
    *,
    reply_to: int | None = None,
    chat_id: int | None = None,
    chat_type: str = "private",
    document: dict | None = None,
    caption: str | None = None,
) -> dict:
    chat = {"id": chat_id or user_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "领导小组"
    message: dict = {
        "message_id": next(_ids) + 10_000,
        "date": 0,
        "chat": chat,
        "from": {"id": user_id, "is_bot": False, "first_name": "用户"},
    }
    if text:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if document is not None:
        message["document"] = document
    if caption is not None:
        message["caption"] = caption
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to,
            "date": 0,
            "chat": chat,
            "text": "提醒",
        }
    return {"update_id": next(_ids), "message": message}


def callback_update(user_id: int, data: str, *, message_id: int = 1) -> dict:
    chat = {"id": user_id, "type": "private"}
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "chat_instance": "x",
            "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "用户"},
            "message": {"message_id": message_id, "date": 0, "chat": chat, "text": "提醒"},
        },
    }


async def feed(app, data: dict) -> None:
    from telegram import Update

    await app.process_update(Update.de_json(data, app.bot))


def deadline_in(days: int) -> date:
    return TODAY + timedelta(days=days)
