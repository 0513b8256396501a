"""Webhook mode: Telegram's POST to the web app's route (with the secret token) reaches the bot's
update queue and is answered; a wrong or missing secret is refused before anything is read."""

from __future__ import annotations

import asyncio
import json

import httpx
from pydantic import SecretStr
from telegram import Update

from bot.app import build_application, webhook_options
from tests.bot.conftest import TOKEN, USERS, message_update
from tests.fakes import RecordingRequest
from web.app import TelegramRoute, build_web_app


async def test_webhook_route_takes_updates_with_the_secret_only(settings, engine, clock, ledger):
    hooked = settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={
                    "webhook_url": "https://bot.example.gov.cn/telegram",
                    "webhook_secret": SecretStr("s3cret-token"),
                }
            )
        }
    )
    request = RecordingRequest()
    app = build_application(
        hooked, engine, token=TOKEN, clock=clock, request=request, updater=False
    )
    assert app.updater is None  # PTB's own webhook server is not used
    options = webhook_options(hooked)
    assert options["url_path"] == "telegram"

    async def put(data: dict) -> None:
        await app.update_queue.put(Update.de_json(data, app.bot))

    web = build_web_app(
        hooked, engine, clock, telegram=TelegramRoute("telegram", "s3cret-token", put)
    )
    await app.initialize()
    await app.start()
    try:
        body = json.dumps(message_update(USERS["陈静"], "/stats"))
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for secret in ("wrong", None):
                headers = {"Content-Type": "application/json"}
                if secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = secret
                forged = await client.post("/telegram", content=body, headers=headers)
                assert forged.status_code == 403
            good = await client.post(
                "/telegram",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": "s3cret-token",
                },
            )
            assert good.status_code == 200
            assert (await client.get("/healthz")).text == "ok"  # the same app serves both
        for _ in range(40):  # the update is processed asynchronously
            if request.sent():
                break
            await asyncio.sleep(0.05)
        assert len(request.sent()) == 1 and "合计 4 项" in request.sent()[0].text
    finally:
        await app.stop()
        await app.shutdown()
