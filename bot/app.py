"""Building the python-telegram-bot Application: handlers and rate limits.

The delivery worker and the scheduler are started by `ledgerbot run` (cli/serve.py), not here.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

import bot.messages  # noqa: F401  (registers the bot's phrases)
from bot.dispatcher import ReplyRetryingLimiter
from bot.handlers.core import Handlers
from bot.services import BotServices
from config import Settings
from ledger import lifecycle
from ledger.clock import Clock, SystemClock
from ledger.contacts import returned
from ledger.enums import Channel
from ledger.i18n import render

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    engine: Engine,
    *,
    token: str,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    rate_limited: bool = True,
    updater: bool = True,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot. Tests pass a recording `request`. Without `updater` (webhook mode) updates
    arrive through the web app's route onto `application.update_queue`."""
    services = BotServices(engine=engine, settings=settings, clock=clock or SystemClock())
    builder: Any = (  # its generic type changes with the rate limiter
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram.api_base_url)
        .base_file_url(settings.telegram.file_base_url)
    )
    if rate_limited:
        builder = builder.rate_limiter(
            # a bucket of one, refilled evenly: 28 messages/s overall and 20/min per group
            # without bursts (a full bucket of 30 would burst past Telegram's 30/s window)
            ReplyRetryingLimiter(
                overall_max_rate=1,
                overall_time_period=1 / 28,
                group_max_rate=1,
                group_time_period=3,
                max_retries=0,
            )
        )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        timeouts = settings.telegram
        builder = (
            builder.connect_timeout(timeouts.connect_timeout)
            .read_timeout(timeouts.read_timeout)
            .write_timeout(timeouts.read_timeout)
            .get_updates_connect_timeout(timeouts.connect_timeout)
            .get_updates_read_timeout(timeouts.read_timeout + 30)
        )
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    handlers = Handlers(services)
    application.bot_data["services"] = services
    add = application.add_handler
    add(TypeHandler(Update, came_back), group=-1)
    add(CommandHandler("start", handlers.start))
    add(CommandHandler("help", handlers.help))
    add(CommandHandler("lang", handlers.lang))
    add(CommandHandler("mine", handlers.list_command("mine", managers=False)))
    add(CommandHandler("task", handlers.task))
    add(CommandHandler("done", handlers.done))
    add(CommandHandler("progress", handlers.progress))
    add(CommandHandler("extend", handlers.extend))
    add(CommandHandler("overdue", handlers.list_command("overdue", managers=True)))
    add(CommandHandler("due", handlers.list_command("due", managers=True)))
    add(CommandHandler("pending", handlers.list_command("pending", managers=True)))
    add(CommandHandler("owner", handlers.list_command("owner", managers=True)))
    decide = handlers.decision
    add(
        CommandHandler(
            "approve",
            decide(lifecycle.verify, "/approve 编号 [意见]", "bot.approved", reason_required=False),
        )
    )
    add(
        CommandHandler(
            "reject",
            decide(lifecycle.reject, "/reject 编号 理由", "bot.rejected", reason_required=True),
        )
    )
    add(CommandHandler("reopen", handlers.reopen))
    add(
        CommandHandler(
            "longterm",
            decide(
                lifecycle.make_long_term,
                "/longterm 编号 [理由]",
                "bot.made_long_term",
                reason_required=False,
            ),
        )
    )
    add(CommandHandler("stats", handlers.stats))
    add(CommandHandler("remind", handlers.remind))
    add(CommandHandler("export", handlers.export))
    add(CommandHandler("report", handlers.report))
    add(CommandHandler("subscribe", handlers.subscribe))
    add(CommandHandler("web", handlers.web))
    add(CallbackQueryHandler(handlers.button))
    add(MessageHandler(filters.PHOTO | filters.Document.ALL, handlers.file))
    add(MessageHandler(filters.COMMAND, handlers.unknown))
    add(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text))
    application.add_error_handler(on_error)

    return application


def webhook_options(settings: Settings) -> dict[str, Any]:
    """How the webhook listens: on the configured address, at the public URL's path."""
    from urllib.parse import urlparse

    telegram = settings.telegram
    if not telegram.webhook_url:
        raise ValueError("telegram.webhook_url (LEDGERBOT_TELEGRAM__WEBHOOK_URL) is not set")
    secret = telegram.webhook_secret.get_secret_value() if telegram.webhook_secret else None
    return {
        "listen": telegram.webhook_listen,
        "port": telegram.webhook_port,
        "url_path": urlparse(telegram.webhook_url).path.strip("/"),
        "webhook_url": telegram.webhook_url,
        "secret_token": secret,
    }


async def came_back(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anyone who writes to the bot can be reached again: what waited for them goes out."""
    user = update.effective_user if isinstance(update, Update) else None
    if user is None:
        return
    services: BotServices = context.bot_data["services"]
    with services.work(None) as ctx:
        waiting = returned(ctx, Channel.TELEGRAM, str(user.id))
    if waiting:
        log.info("reachable_again telegram_user=%s waiting=%s", user.id, waiting)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log with the traceback first, then a short apology."""
    log.error("update_failed error=%s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(render("bot.error"))
        except Exception:
            log.exception("error_reply_failed")
