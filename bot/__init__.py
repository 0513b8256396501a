"""The Telegram transport: handlers, rendering, and Telegram's sender for the delivery worker."""

import os

# python-telegram-bot 22 reports durations (retry_after) as timedelta when opted in; the
# Telegram sender handles both, and opting in keeps the deprecation warning out of logs and tests.
os.environ.setdefault("PTB_TIMEDELTA", "1")
