"""A fake Telegram Bot API server on 127.0.0.1, speaking the real wire format.

python-telegram-bot's own HTTP client talks to it (set api_base_url to `base_url`). It records
what the bot sends, feeds updates through getUpdates, enforces Telegram's limits (1 message/s
per chat, 30/s overall, 20/min per group) by answering 429 with retry_after, refuses what
Telegram refuses (texts over 4096 characters, keyboards over 100 buttons) with a 400, and
injects faults on demand: 5xx, timeouts, slow answers to accepted sends, dropped connections,
403 (blocked) and 400, or a whole outage (`down`).
Run it in-process (`start()`) or as its own process (`python -m tests.support.fake_bot_api`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 999, "is_bot": True, "first_name": "整改台账", "username": "zg_bot"}
SENDING = {"sendMessage", "sendDocument", "sendPhoto", "editMessageText"}


@dataclass
class Fault:
    """One injected failure for the next matching call: status, timeout, drop."""

    kind: str  # "status" | "timeout" (not taken) | "drop" | "slow" (taken, answered late)
    status: int = 500
    description: str = "Internal Server Error"
    seconds: float = 0.0
    method: str = "sendMessage"
    after: int = 0  # let this many matching calls through first
    retry_after: int = 0  # with status 429: the seconds Telegram asks for


@dataclass
class Sent:
    method: str
    params: dict[str, Any]
    at: float
    message_id: int

    @property
    def chat_id(self) -> int:
        return int(self.params.get("chat_id", 0))

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))


@dataclass
class FakeBotApi:
    per_chat_interval: float = 1.0
    overall_per_second: int = 30
    group_per_minute: int = 20
    latency: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    too_many: int = 0
    refused: int = 0
    down: bool = False  # every send answers 502 (an outage)
    faults: deque[Fault] = field(default_factory=deque)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _last_chat: dict[int, float] = field(default_factory=dict)
    _recent: deque[float] = field(default_factory=deque)
    _group_recent: dict[int, deque[float]] = field(default_factory=dict)
    _next_message_id: int = 1000
    _next_update_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- control ---------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeBotApi:
        api = self

        class Handler(_Handler):
            fake = api

        self._server = _QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def push_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            update = {**update, "update_id": self._next_update_id}
            self._next_update_id += 1
            self._updates.append(update)

    def sent_messages(self) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.method == "sendMessage"]

    # --- the API ---------------------------------------------------------------------
    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            if self.faults and self.faults[0].method == method:
                if self.faults[0].after > 0:
                    self.faults[0].after -= 1
                    return None
                return self.faults.popleft()
            if self.down and method in SENDING:
                return Fault("status", 502, "Bad Gateway")
        return None

    def limited(self, chat_id: int, now: float) -> int:
        """Seconds to wait if this send breaks a limit (0 if allowed); records allowed sends."""
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            wait = 0.0
            if len(self._recent) >= self.overall_per_second:
                wait = 1.0 - (now - self._recent[0])
            if chat_id < 0:
                window = self._group_recent.setdefault(chat_id, deque())
                while window and now - window[0] >= 60.0:
                    window.popleft()
                if len(window) >= self.group_per_minute:
                    wait = max(wait, 60.0 - (now - window[0]))
            else:
                last = self._last_chat.get(chat_id)
                if last is not None and now - last < self.per_chat_interval:
                    wait = max(wait, self.per_chat_interval - (now - last))
            if wait > 0:
                self.too_many += 1
                return max(1, math.ceil(wait))
            self._recent.append(now)
            if chat_id < 0:
                self._group_recent[chat_id].append(now)
            else:
                self._last_chat[chat_id] = now
            return 0

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((method, params))
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method in ("deleteWebhook", "setWebhook", "answerCallbackQuery", "close", "logOut"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self.updates(params)}
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            return 200, {
                "ok": True,
                "result": {
                    "file_id": file_id,
                    "file_unique_id": "u" + file_id,
                    "file_path": file_id,
                },
            }
        if method in SENDING:
            refusal = self.refusal(params)
            if refusal:
                with self._lock:
                    self.refused += 1
                return 400, {"ok": False, "error_code": 400, "description": refusal}
            chat_id = int(params.get("chat_id", 0))
            retry = self.limited(chat_id, time.monotonic())
            if retry:
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry}",
                    "parameters": {"retry_after": retry},
                }
            with self._lock:
                self._next_message_id += 1
                message_id = self._next_message_id
                self.sent.append(Sent(method, params, time.time(), message_id))
            return 200, {
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "from": BOT_USER,
                    "chat": {
                        "id": chat_id,
                        "type": "private" if chat_id > 0 else "group",
                        "title": "群" if chat_id < 0 else None,
                    },
                    "text": params.get("text", ""),
                },
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    @staticmethod
    def refusal(params: dict[str, Any]) -> str:
        """What Telegram answers with a 400 for a message beyond its limits ('' if none)."""
        if len(str(params.get("text", ""))) > 4096:
            return "Bad Request: message is too long"
        markup = params.get("reply_markup") or {}
        buttons = sum(len(row) for row in markup.get("inline_keyboard", []))
        if buttons > 100:
            return "Bad Request: reply markup is too long"
        return ""

    def updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        deadline = time.monotonic() + min(float(params.get("timeout", 0) or 0), 0.5)
        while True:
            with self._lock:
                ready = [u for u in self._updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return ready
            time.sleep(0.02)


def _parse(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields as PTB sends them: urlencoded or multipart, complex values as JSON text."""
    fields: dict[str, Any] = {}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                fields[str(name)] = {"filename": part.get_filename(), "size": len(payload)}
            else:
                fields[str(name)] = payload.decode("utf-8")
    elif body:
        if content_type.startswith("application/json"):
            return dict(json.loads(body))
        fields = {
            k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()
        }
    for key, value in list(fields.items()):
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                fields[key] = json.loads(value)
    return fields


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a killed client resets its connection: expected in crash tests
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBotApi
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer (the real API has no such delay)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read .sent

    def do_GET(self) -> None:
        if "/file/bot" in self.path:
            self._reply(200, b"file-content", "application/octet-stream")
            return
        self.do_POST()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client died mid-request (a SIGKILL): Telegram sends nothing
            self.close_connection = True
            return
        if not self.path.startswith("/bot"):  # as Telegram answers a wrong API_BASE_URL path
            self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        method = self.path.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        params = _parse(self.headers.get("Content-Type", ""), body)
        fault = self.fake.take_fault(method)
        if fault is not None:
            if fault.kind == "timeout":  # no answer in time, and the call never went through
                time.sleep(fault.seconds)
            if fault.kind in ("drop", "timeout"):
                self.close_connection = True
                self.connection.close()
                return
            if fault.kind == "slow":  # Telegram took it; the answer comes after our timeout
                status, payload = self.fake.answer(method, params)
                time.sleep(fault.seconds)
                self._json(status, payload)
                return
            if fault.kind == "status":
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": fault.status,
                    "description": fault.description,
                }
                if fault.retry_after:
                    body["parameters"] = {"retry_after": fault.retry_after}
                self._json(fault.status, body)
                return
        if self.fake.latency:
            time.sleep(self.fake.latency)
        status, payload = self.fake.answer(method, params)
        self._json(status, payload)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._reply(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout): as with the real API


def main() -> None:
    """Run as a separate process for crash tests; prints the port, dumps sends on SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True, help="append one JSON line per accepted send")
    args = parser.parse_args()
    fake = FakeBotApi()
    original = fake.answer

    def answer_and_log(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, payload = original(method, params)
        if method in SENDING and status == 200:
            with open(args.log, "a", encoding="utf-8") as log:
                log.write(
                    json.dumps(
                        {
                            "chat_id": params.get("chat_id"),
                            "message_id": payload["result"]["message_id"],
                        }
                    )
                    + "\n"
                )
        return status, payload

    fake.answer = answer_and_log  # type: ignore[method-assign]
    fake.start(args.port)
    print(fake.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
