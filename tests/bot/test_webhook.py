"""Webhook mode on loopback: Telegram's POST with the secret token is processed, others refused."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
from pydantic import SecretStr

from bot.app import build_application, webhook_options
from tests.bot.conftest import TOKEN, USERS, message_update
from tests.fakes import RecordingRequest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_receives_updates_with_the_secret_only(settings, engine, clock, ledger):
    port = free_port()
    hooked = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={
                    "webhook_url": "https://bot.example.gov.cn/telegram",
                    "webhook_secret": SecretStr("s3cret-token"),
                    "webhook_listen": "127.0.0.1",
                    "webhook_port": port,
                }
            )
        }
    )
    request = RecordingRequest()
    app = build_application(hooked, engine, token=TOKEN, clock=clock, request=request)
    options = webhook_options(hooked)
    assert options["url_path"] == "telegram"
    await app.initialize()
    await app.updater.start_webhook(**options)
    await app.start()
    try:
        assert request.sent("setWebhook")[0].params["url"] == "https://bot.example.gov.cn/telegram"
        assert request.sent("setWebhook")[0].params["secret_token"] == "s3cret-token"
        body = json.dumps(message_update(USERS["陈静"], "/stats"))
        url = f"http://127.0.0.1:{port}/telegram"
        async with httpx.AsyncClient() as client:
            forged = await client.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "wrong",
                },
            )
            assert forged.status_code == 403
            good = await client.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "s3cret-token",
                },
            )
            assert good.status_code == 200
        for _ in range(40):  # the update is processed asynchronously
            if request.sent():
                break
            await asyncio.sleep(0.05)
        assert len(request.sent()) == 1 and "合计 4 项" in request.sent()[0].text
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
