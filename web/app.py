"""The one ASGI app of `ledgerbot run`: `/healthz`, the Telegram webhook route, the owners'
action pages and the dashboard. Starlette on uvicorn; a surface like bot/: it calls ledger/.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import web.messages  # noqa: F401  (registers the pages' phrases)
from config import Settings
from ledger import links
from ledger.clock import Clock
from ledger.context import Actor, WorkContext
from ledger.db import session_scope
from ledger.enums import Via
from ledger.errors import LedgerError
from ledger.models import Official
from ledger.workdays import WorkCalendar

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
COOKIE = "lb_session"
CLIENT_LIMIT = 60  # sign-ins / fresh-link requests per client address in 15 minutes
FORM_SLACK = 64 * 1024  # the form's other fields around an uploaded file
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders:
    """Every answer: a CSP without inline script, no framing, no sniffing, no Referer (the
    links carry tokens), and nothing of ours cached but the static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class Limiter:
    """At most `limit` hits per key within `window` (per process); time from the caller."""

    limit: int
    window: timedelta
    _hits: dict[str, list[datetime]] = field(default_factory=dict)

    def wait_minutes(self, key: str, now: datetime) -> int:
        """0 and the hit counted when allowed; else the minutes until the next is allowed."""
        hits = [h for h in self._hits.get(key, []) if now - h < self.window]
        if len(hits) >= self.limit:
            self._hits[key] = hits
            return max(1, math.ceil((hits[0] + self.window - now).total_seconds() / 60))
        hits.append(now)
        self._hits[key] = hits
        return 0


@dataclass
class TelegramRoute:
    """The webhook: Telegram posts updates here; they go on the application's update queue."""

    path: str
    secret_token: str | None
    put: Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class WebServices:
    engine: Engine
    settings: Settings
    clock: Clock
    calendar: WorkCalendar
    # link requests and sign-ins per client address (each person is also limited in the ledger);
    # generous, since an office behind one NAT shares an address
    link_requests: Limiter = field(
        default_factory=lambda: Limiter(CLIENT_LIMIT, timedelta(minutes=15))
    )

    @property
    def secret(self) -> str:
        return links.require_secret(self.settings)

    def csrf(self, binding: str) -> str:
        body = f"csrf|{binding}".encode()
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, form: FormData, binding: str) -> bool:
        given = form.get("csrf")
        return isinstance(given, str) and hmac.compare_digest(given, self.csrf(binding))

    @contextmanager
    def work(self, official_id: int | None) -> Iterator[WorkContext]:
        """One unit of work acting as this official, through the web (Via.WEB in the audit)."""
        with session_scope(self.engine) as session:
            official = session.get(Official, official_id) if official_id else None
            yield WorkContext(
                session=session,
                now=self.clock.now(),
                actor=Actor(via=Via.WEB, official=official),
                settings=self.settings,
            )

    @property
    def upload_limit(self) -> int:
        return self.settings.max_evidence_mb * 1024 * 1024


def client_key(request: Request) -> str:
    return request.client.host if request.client else "-"


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=headers)


def too_large(request: Request, limit: int) -> bool | None:
    """Whether the body is over `limit`, from Content-Length, before reading it; None if the
    length is not given (refused too: we never read an unbounded body)."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return None
    return int(length) > limit


async def read_upload(upload: UploadFile | str | None) -> tuple[str, bytes, str] | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read()
    if not data:
        return None
    return Path(upload.filename).name, data, upload.content_type or ""


def build_web_app(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    *,
    telegram: TelegramRoute | None = None,
) -> Starlette:
    from web import dashboard, owner

    services = WebServices(
        engine=engine,
        settings=settings,
        clock=clock,
        calendar=WorkCalendar.from_file(settings.calendar_file),
    )

    async def healthz(request: Request) -> Response:
        from sqlalchemy import text

        with session_scope(engine) as session:
            session.execute(text("SELECT 1"))
        return PlainTextResponse("ok")

    routes: list[Any] = [
        Route("/healthz", healthz),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *owner.routes(services),
        *dashboard.routes(services),
    ]
    if telegram is not None:

        async def webhook(request: Request) -> Response:
            given = request.headers.get("x-telegram-bot-api-secret-token", "")
            if telegram.secret_token and not hmac.compare_digest(given, telegram.secret_token):
                return PlainTextResponse("forbidden", status_code=403)
            if too_large(request, 1024 * 1024) is not False:
                return PlainTextResponse("too large", status_code=413)
            try:
                data = await request.json()
            except ValueError:
                return PlainTextResponse("bad update", status_code=400)
            await telegram.put(data)
            return PlainTextResponse("ok")

        routes.append(Route(f"/{telegram.path.strip('/')}", webhook, methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.services = services

    async def refused(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("not found", status_code=404)

    app.add_exception_handler(404, refused)
    app.add_middleware(SecurityHeaders)
    return app


def content_disposition(name: str, inline: bool) -> str:
    kind = "inline" if inline else "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def refusal_text(exc: LedgerError, lang: str) -> str:
    return exc.text(lang)
