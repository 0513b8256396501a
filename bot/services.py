"""What handlers and the dispatcher share: the engine, settings and clock, and units of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import Settings
from ledger.clock import Clock
from ledger.contacts import holder
from ledger.context import Actor, WorkContext
from ledger.db import session_scope
from ledger.enums import Channel, Via
from ledger.throttle import GuessThrottle


@dataclass
class BotServices:
    engine: Engine
    settings: Settings
    clock: Clock
    invite_guesses: GuessThrottle = field(default_factory=GuessThrottle)

    @contextmanager
    def work(self, telegram_user_id: int | None) -> Iterator[WorkContext]:
        """One unit of work for one update, acting as the bound official (if any)."""
        with session_scope(self.engine) as session:
            official = (
                holder(session, Channel.TELEGRAM, str(telegram_user_id))
                if telegram_user_id
                else None
            )
            yield WorkContext(
                session=session,
                now=self.clock.now(),
                actor=Actor(via=Via.TELEGRAM, official=official),
                settings=self.settings,
            )

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)
