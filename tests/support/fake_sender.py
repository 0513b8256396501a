"""A second sender for the delivery worker: no Telegram, short parts, failures on demand.

It proves the worker is channel-neutral: the same loop, transitions and promises hold for a
sender that shares nothing with Telegram but the protocol in `ledger.delivery`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.delivery import Address, DeliveryFailure, Transient
from ledger.enums import Channel
from ledger.notices import Notice


class Crashed(BaseException):
    """The process died mid-send (SIGKILL): nothing after the send runs."""


@dataclass
class Accepted:
    address: str
    message_id: int
    text: str


@dataclass
class FakeSender:
    """Parts of at most `limit` characters; `failures` are raised by the next sends, in order
    (None lets one through); while `down`, every send is a Transient failure."""

    limit: int = 4000
    pace_seconds: float = 0.0
    channel: Channel = Channel.TELEGRAM
    down: bool = False
    accepted: list[Accepted] = field(default_factory=list)
    attempts: int = 0
    failures: deque[DeliveryFailure | None] = field(default_factory=deque)
    fail_if: Callable[[Address, str], DeliveryFailure | None] | None = None
    crash_after: int | None = None  # the process dies at the send after this many accepted
    _next_id: int = 500

    def render(self, notice: Notice, lang: str) -> list[str]:
        text = notice.text
        return [text[i : i + self.limit] for i in range(0, len(text), self.limit)] or [""]

    async def send(self, address: Address, part: str) -> int:
        self.attempts += 1
        if self.crash_after is not None and len(self.accepted) >= self.crash_after:
            raise Crashed
        if self.failures:
            failure = self.failures.popleft()
            if failure is not None:
                raise failure
        if self.down:
            raise Transient("ConnectionError: the channel is down")
        if self.fail_if is not None:
            failure = self.fail_if(address, part)
            if failure is not None:
                raise failure
        self._next_id += 1
        self.accepted.append(Accepted(address.value, self._next_id, part))
        return self._next_id

    def to(self, address: int | str) -> list[Accepted]:
        return [a for a in self.accepted if a.address == str(address)]
