"""A small JSON-over-HTTP server on 127.0.0.1 for the channels' fakes (WeCom, DingTalk, robots).

Each fake answers the platform's documented request and response shapes from a thread, while
the senders talk to it with their real httpx clients. `clock` is the fake's idea of time (in
seconds): tests give it the worker's virtual time so limits hold without waiting; the
benchmark gives it real time, sped up by `scale`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]


class VirtualClock:
    """Real monotonic time plus whatever the worker 'slept' (its sleep is replaced by `advance`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.offset += max(seconds, 0.0)


class Window:
    """Events per key within a sliding window of `seconds` (for 'N per minute' limits)."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds, self.limit = seconds, limit
        self.events: dict[str, deque[float]] = {}

    def full(self, key: str, now: float) -> bool:
        q = self.events.setdefault(key, deque())
        while q and q[0] <= now - self.seconds:
            q.popleft()
        return len(q) >= self.limit

    def add(self, key: str, now: float) -> None:
        self.events.setdefault(key, deque()).append(now)


@dataclass
class FakeHttp:
    clock: Callable[[], float] = time.monotonic
    requests: list[Request] = field(default_factory=list)
    faults: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeHttp:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.handle_any("GET")

            def do_POST(self) -> None:
                self.handle_any("POST")

            def handle_any(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                request = Request(method, url.path, query, body)
                with fake.lock:
                    fake.requests.append(request)
                    if fake.faults:
                        status, answer = fake.faults.popleft()
                    else:
                        status, answer = fake.answer(request)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def inject(self, status: int, answer: dict[str, Any]) -> None:
        """The next request (any path) gets this answer instead."""
        with self.lock:
            self.faults.append((status, answer))

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError
