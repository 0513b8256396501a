"""What every HTTP channel shares: one httpx client, a cached access token, the platforms'
answers turned into the worker's four failures, and a notice as title, body and link."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from config import Settings
from ledger.delivery import RateLimited, Refused, Transient, Unreachable
from ledger.i18n import register, render
from ledger.notices import Notice
from ledger.texts import split_text, utf8_size

register(
    "zh",
    {
        "channel.open_page": "点击查看并办理：报进展、交佐证、申请销号或延期",
        "channel.button": "去办理",
        "channel.continued": "（续 {index}/{total}）",
    },
)
register(
    "en",
    {
        "channel.open_page": "Open to act: report progress, upload evidence, submit or extend",
        "channel.button": "Open",
        "channel.continued": "(continued {index}/{total})",
    },
)


def card(settings: Settings, notice: Notice, lang: str) -> Card:
    """A notice as these channels show it. The link is the owner's action page for its task
    (`ledger.links`, on the notice); a digest's further tasks are listed with theirs; a
    notice with no action link (e.g. to a supervisor) links to the web's dashboard."""
    title, _, body = notice.text.strip().partition("\n")
    links = notice.links
    link = links[0].url if links else settings.web.base_url()
    if len(links) > 1:
        lines = [render(x.label_key, lang, url=x.url, task_id=x.task_id) for x in links]
        body = "\n".join([body.strip(), *lines])
    return Card(title=title.strip(), body=body.strip(), link=link)


@dataclass(frozen=True)
class Card:
    """A notice as these channels show it: a title (its first line), the rest, the link."""

    title: str
    body: str
    link: str


def message_number(text: str) -> int:
    """An int id (what the worker stores) for a channel's string message id."""
    return zlib.crc32(text.encode("utf-8"))


def hide(text: str, *secrets: str) -> str:
    """An error as stored and logged: any secret (token, key, webhook) cut out."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class TokenCache:
    """An access token fetched once and reused until it expires (or the platform says it has:
    `invalidate`); concurrent sends wait for one fetch."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]], margin: float = 300):
        self._fetch = fetch
        self._margin = margin
        self._token = ""
        self._until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self) -> str:
        async with self._lock:
            if not self._token or time.monotonic() >= self._until:
                token, lifetime = await self._fetch()
                self.fetches += 1
                self._token = token
                self._until = time.monotonic() + max(lifetime - self._margin, lifetime / 2)
            return self._token

    def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = ""


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    secrets: tuple[str, ...] = (),
    **kwargs: Any,
) -> dict[str, Any]:
    """One API call answered with JSON; network trouble, timeouts and 5xx are Transient, an
    HTTP 429 is RateLimited. The platform's own errcode is the caller's to read."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise Transient(hide(f"{type(exc).__name__}: {exc}", *secrets)) from None
    if response.status_code == 429:
        retry = float(response.headers.get("Retry-After", "60") or 60)
        raise RateLimited(retry, f"HTTP 429 from {response.url.host}")
    if response.status_code >= 500:
        raise Transient(f"HTTP {response.status_code} from {response.url.host}")
    try:
        data = response.json()
    except ValueError:
        raise Transient(f"HTTP {response.status_code}: not JSON from {response.url.host}") from None
    if not isinstance(data, dict):
        raise Transient(f"unexpected answer from {response.url.host}")
    return data


def failure_text(data: dict[str, Any], code_key: str = "errcode", msg_key: str = "errmsg") -> str:
    return f"errcode {data.get(code_key)}: {str(data.get(msg_key, ''))[:200]}"


def client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False)


def pieces(text: str, budget: int, lang: str) -> list[str]:
    """`text` in parts of at most `budget` UTF-8 bytes, each marked （续 i/n） when there are
    several (the mark is within the budget)."""
    mark = utf8_size(render("channel.continued", lang, index=99, total=99)) + 2
    parts = split_text(text, budget - mark, utf8_size) if utf8_size(text) > budget else [text]
    if len(parts) == 1:
        return parts
    total = len(parts)
    return [
        f"{p}\n\n{render('channel.continued', lang, index=i, total=total)}"
        for i, p in enumerate(parts, 1)
    ]


async def fetch_token(
    http: httpx.AsyncClient, url: str, params: dict[str, str], secret: str, name: str
) -> tuple[str, float]:
    """An access token and its lifetime (WeCom's and DingTalk's gettoken answer alike). A wrong
    key or secret is Transient: the operator fixes it and what waited goes out."""
    data = await call(http, "GET", url, params=params, secrets=(secret,))
    if data.get("errcode", 0) != 0 or not data.get("access_token"):
        raise Transient(f"{name} gettoken " + failure_text(data))
    return str(data["access_token"]), float(data.get("expires_in", 7200))


def raise_for(
    code: int,
    reason: str,
    *,
    rate: dict[int, float] | None = None,
    gone: Iterable[int] = (),
    transient: Iterable[int] = (-1,),
) -> None:
    """A platform's errcode as the worker's failures: `rate` codes wait their seconds, `gone`
    ones mean the address is unreachable, `transient` ones are retried, any other is refused."""
    if code == 0:
        return
    if rate and code in rate:
        raise RateLimited(rate[code], reason)
    if code in set(gone):
        raise Unreachable(reason)
    if code in set(transient):
        raise Transient(reason)
    raise Refused(reason)


class AppSender:
    """What the WeCom and DingTalk app senders share: one client, a cached access token, and
    a POST that fetches a fresh token once when the platform says it is invalid or expired.
    Subclasses set `name`, `token_errors` and fill `token_url`/`token_params`."""

    name = ""
    token_errors: frozenset[int] = frozenset()
    pace_seconds: float

    def __init__(
        self, settings: Settings, secret: str, base_url: str, timeout: float, http: Any = None
    ) -> None:
        self.settings = settings
        self.secret = secret
        self.http: httpx.AsyncClient = http or client(timeout)
        self.base = base_url.rstrip("/")
        self.tokens = TokenCache(self._fetch_token)

    def token_request(self) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    async def _fetch_token(self) -> tuple[str, float]:
        path, params = self.token_request()
        return await fetch_token(self.http, f"{self.base}/{path}", params, self.secret, self.name)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        """The errcode, the answer, and the reason to store (the token cut out)."""
        for _ in range(2):
            token = await self.tokens.get()
            data = await call(
                self.http,
                "POST",
                f"{self.base}/{path}",
                params={"access_token": token},
                json=body,
                secrets=(token, self.secret),
            )
            code = int(str(data.get("errcode", 0)))
            if code in self.token_errors:
                self.tokens.invalidate(token)
                continue
            return code, data, f"{self.name} " + hide(failure_text(data), token)
        raise Transient(f"{self.name}: a fresh access token was refused too")
