"""Invite-code guesses: a few wrong tries per Telegram user and per chat, then a pause.

Codes are random and hashed, but nothing stopped a script from trying thousands, each one
written to the audit trail. A *burst* is a run of failures, each within `window` of the one
before; the first failure of a burst is audited, the moment the pause starts is audited once
more, and the guesses in between are only counted. Time comes from the caller's clock.
The counts live in the process (each bot process throttles on its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger.i18n import register

register(
    "zh",
    {
        "error.invite_throttled": "邀请码错误次数过多，请 {minutes} 分钟后再试，或向整改办索取新的邀请链接。",
    },
)
register(
    "en",
    {
        "error.invite_throttled": "Too many wrong invite codes; try again in {minutes} minutes, or ask the office for a new link.",
    },
)


@dataclass
class _Burst:
    failures: int
    last: datetime
    paused_audited: bool = False


@dataclass
class GuessThrottle:
    limit: int = 5
    window: timedelta = timedelta(minutes=15)
    _bursts: dict[tuple[str, int], _Burst] = field(default_factory=dict)

    def _live(self, key: tuple[str, int], now: datetime) -> _Burst | None:
        burst = self._bursts.get(key)
        if burst is not None and now - burst.last > self.window:
            del self._bursts[key]  # the burst is over: a fresh start
            return None
        return burst

    def _keys(self, user_id: int, chat_id: int) -> list[tuple[str, int]]:
        return [("user", user_id), ("chat", chat_id)]

    def paused_minutes(self, user_id: int, chat_id: int, now: datetime) -> int:
        """Minutes until this user (or chat) may guess again; 0 when they may now."""
        waits = [
            burst.last + self.window - now
            for key in self._keys(user_id, chat_id)
            if (burst := self._live(key, now)) is not None and burst.failures >= self.limit
        ]
        if not waits:
            return 0
        return max(1, math.ceil(max(waits).total_seconds() / 60))

    def starts_burst(self, user_id: int, chat_id: int, now: datetime) -> bool:
        """Whether a failure now would be the first of a burst (and so audited)."""
        return all(self._live(key, now) is None for key in self._keys(user_id, chat_id))

    def failed(self, user_id: int, chat_id: int, now: datetime) -> None:
        for key in self._keys(user_id, chat_id):
            burst = self._live(key, now)
            if burst is None:
                self._bursts[key] = _Burst(failures=1, last=now)
            else:
                burst.failures += 1
                burst.last = now

    def first_pause(self, user_id: int, chat_id: int, now: datetime) -> int | None:
        """The failures so far, the first time a paused user is turned away; else None."""
        burst = self._live(("user", user_id), now) or self._live(("chat", chat_id), now)
        if burst is None or burst.paused_audited:
            return None
        burst.paused_audited = True
        return burst.failures

    def succeeded(self, user_id: int, chat_id: int) -> None:
        for key in self._keys(user_id, chat_id):
            self._bursts.pop(key, None)
