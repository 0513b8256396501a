"""Keep the bot token out of logs and stored errors: PTB and httpx put it in every URL."""

from __future__ import annotations

import logging
import re
from typing import Any

_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# a signed web link's token (ledger.links): a capability, kept out of logs like the bot token
_LINK_SHAPE = re.compile(r"\b[acs]\.\d+\.\d+\.\d+\.[A-Za-z0-9_-]{40,}")


def redact(text: str, token: str | None = None) -> str:
    """Replace the token (and anything shaped like a bot token) with <token>."""
    if token:
        text = text.replace(token, "<token>")
    return _LINK_SHAPE.sub("<link>", _TOKEN_SHAPE.sub("<token>", text))


class RedactingFilter(logging.Filter):
    """A handler filter: the whole formatted record, tracebacks included, is scrubbed."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.token)
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted, self.token)
            record.exc_info = None
        return True


def install(token: str | None, level: str = "INFO") -> None:
    """Structured, one-line-per-event logging on stderr, scrubbed of the token."""
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(
            logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
        )
        handler.addFilter(RedactingFilter(token))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines are full URLs
    install_excepthook(token)


def install_excepthook(token: str | None) -> None:
    """An uncaught exception's traceback goes to stderr scrubbed like the logs."""
    import sys
    import traceback

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redact(text, token))

    sys.excepthook = hook
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
