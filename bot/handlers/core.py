"""The bot's handlers: parse the update, call one ledger service, render the answer.

Split by concern, each a layer over the one before: base (plumbing) → binding → lists →
actions → managers → incoming (messages and files) → buttons; replies.py holds what a reply
means once its task is known.
"""

from __future__ import annotations

from bot.handlers.buttons import Buttons


class Handlers(Buttons):
    """Every handler the application registers."""
