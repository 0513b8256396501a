"""`ledgerbot run`: the delivery worker, the scheduler, the Telegram bot (if a token is set) and
the web (the one ASGI app: pages, `/healthz`, the Telegram webhook) in one event loop.

The worker is started here, not by the bot, so that it drives whichever senders are
configured; SIGTERM/SIGINT finish the message in flight and leave the rest pending.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Generator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine

from config import Settings, WebSettings
from jobs.policy import SweepPolicy
from jobs.runner import SweepScheduler
from ledger.clock import Clock
from ledger.delivery import Sender
from ledger.worker import Worker

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The web's address cannot be listened on; the message names the setting."""


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: our signal handlers stop it, not its own."""

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listen_socket(web: WebSettings) -> socket.socket:
    family = socket.AF_INET6 if ":" in web.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((web.host.strip("[]"), web.port))
    except OSError as exc:
        sock.close()
        raise ListenError(
            f"web.listen (LEDGERBOT_WEB__LISTEN): 无法监听 {web.listen} (cannot listen): "
            f"{exc.strerror}"
        ) from None
    sock.set_inheritable(True)
    return sock


def web_server(app: Any) -> EmbeddedServer:
    # no access log: the pages' URLs carry signed tokens
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return EmbeddedServer(config)


async def serve(
    settings: Settings, engine: Engine, clock: Clock, *, token: str | None, webhook: bool
) -> None:
    from web.app import TelegramRoute, build_web_app

    sock = listen_socket(settings.web)
    senders: list[Sender] = []
    application: Any = None
    route: TelegramRoute | None = None
    options: dict[str, Any] = {}
    if token:
        from telegram import Update

        from bot.app import build_application, webhook_options
        from bot.dispatcher import TelegramSender

        application = build_application(
            settings, engine, token=token, clock=clock, updater=not webhook
        )
        senders.append(
            TelegramSender(application.bot, pace_seconds=settings.telegram.private_chat_interval)
        )
        if webhook:
            options = webhook_options(settings)
            bot_app = application

            async def put(data: dict[str, Any]) -> None:
                await bot_app.update_queue.put(Update.de_json(data, bot_app.bot))

            route = TelegramRoute(options["url_path"], options["secret_token"], put)
    worker = Worker(engine, settings, clock, senders)
    scheduler = SweepScheduler(engine, SweepPolicy.from_settings(settings), clock)
    server = web_server(build_web_app(settings, engine, clock, telegram=route))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with AsyncExitStack() as stack:
        if application is not None:
            await stack.enter_async_context(application)  # initialize … shutdown
        delivering = asyncio.create_task(worker.run_forever())
        try:
            if application is not None:
                if webhook:
                    await application.bot.set_webhook(
                        url=options["webhook_url"], secret_token=options["secret_token"]
                    )
                else:
                    await application.updater.start_polling()
                await application.start()
            await scheduler.start()
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            log.info(
                "running worker=%s telegram=%s webhook=%s web=%s",
                worker.name,
                bool(token),
                webhook,
                settings.web.listen,
            )
            waiting = asyncio.create_task(stopping.wait())
            await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
            log.info("stopping")
            scheduler.shutdown()
            server.should_exit = True
            await serving
            waiting.cancel()
            if application is not None:
                if not webhook:
                    await application.updater.stop()
                await application.stop()
        finally:
            worker.stop()
            await delivering  # the message in flight is finished; the rest stays pending
            sock.close()


async def serve_web(settings: Settings, engine: Engine, clock: Clock) -> None:
    """Only the web, until SIGINT/SIGTERM (`ledgerbot demo --web`)."""
    from web.app import build_web_app

    sock = listen_socket(settings.web)
    server = web_server(build_web_app(settings, engine, clock))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        await server.serve(sockets=[sock])
    finally:
        sock.close()
