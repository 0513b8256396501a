"""Invite-code guesses in chat: paused after a burst of wrong codes, audited once per pause."""

from __future__ import annotations

from ledger import audit
from ledger.context import WorkContext
from ledger.i18n import render
from ledger.throttle import GuessThrottle


def paused_reply(
    guesses: GuessThrottle, ctx: WorkContext, user_id: int, chat_id: int
) -> str | None:
    """The answer when this user or chat must wait (the code is then not even looked up)."""
    minutes = guesses.paused_minutes(user_id, chat_id, ctx.now)
    if not minutes:
        return None
    failures = guesses.first_pause(user_id, chat_id, ctx.now)
    if failures is not None:
        audit.record(
            ctx,
            "bind_throttled",
            after={"telegram_user_id": user_id, "chat_id": chat_id, "failures": failures},
        )
    return render("error.invite_throttled", "zh", minutes=minutes)


def telegram_link(bot_username: str, code: str) -> str:
    """Telegram's rendering of a channel-neutral invite code: a deep link that starts the bot
    with the code (`/start CODE`)."""
    return f"https://t.me/{bot_username}?start={code}"
