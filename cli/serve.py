"""`ledgerbot run`: the delivery worker, the scheduler and the Telegram bot in one event loop.

The worker is started here, not by the bot, so that it drives whichever senders are
configured; SIGTERM/SIGINT finish the message in flight and leave the rest pending.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from sqlalchemy.engine import Engine

from config import Settings
from jobs.policy import SweepPolicy
from jobs.runner import SweepScheduler
from ledger.clock import Clock
from ledger.delivery import Sender
from ledger.worker import Worker

log = logging.getLogger(__name__)


async def serve(
    settings: Settings, engine: Engine, clock: Clock, *, token: str, webhook: bool
) -> None:
    from bot.app import build_application, webhook_options
    from bot.dispatcher import TelegramSender

    application = build_application(settings, engine, token=token, clock=clock)
    senders: list[Sender] = [
        TelegramSender(application.bot, pace_seconds=settings.telegram.private_chat_interval)
    ]
    worker = Worker(engine, settings, clock, senders)
    scheduler = SweepScheduler(engine, SweepPolicy.from_settings(settings), clock)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with application:  # initialize … shutdown
        delivering = asyncio.create_task(worker.run_forever())
        try:
            updater: Any = application.updater
            if webhook:
                await updater.start_webhook(**webhook_options(settings))
            else:
                await updater.start_polling()
            await application.start()
            await scheduler.start()
            log.info("running worker=%s webhook=%s", worker.name, webhook)
            await stopping.wait()
            log.info("stopping")
            scheduler.shutdown()
            await updater.stop()
            await application.stop()
        finally:
            worker.stop()
            await delivering  # the message in flight is finished; the rest stays pending
