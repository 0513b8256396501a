"""A recording fake of python-telegram-bot's request layer: no network, every call answered."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 999, "is_bot": True, "first_name": "整改台账", "username": "zg_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    message_id: int = 0  # what Telegram answered for a sent message

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[str]:
        return [b.get("callback_data", b.get("text")) for b in self._buttons()]

    @property
    def labels(self) -> list[str]:
        return [str(b.get("text")) for b in self._buttons()]

    def _buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class RecordingRequest(BaseRequest):
    """Answers the Bot API like Telegram would, records every call, and fails on demand."""

    calls: list[Call] = field(default_factory=list)
    faults: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    next_message_id: int = 100
    raise_next: list[Exception] = field(default_factory=list)
    uploads: list[tuple[str, bytes]] = field(default_factory=list)
    on_call: Callable[[Call], None] | None = None
    before_call: Callable[[Call], None] | None = None  # may raise: the call never arrives

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    def fail_next(self, status: int, description: str, **extra: Any) -> None:
        self.faults.append(
            (status, {"ok": False, "error_code": status, "description": description, **extra})
        )

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            name = url.rsplit("/", 1)[-1]
            return 200, self.files.get(name, b"")
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        call = Call(api_method, dict(params))
        if request_data is not None and request_data.contains_files:
            for name, content, *_ in request_data.multipart_data.values():
                self.uploads.append((name, content if isinstance(content, bytes) else b""))
        if api_method not in ("getMe", "getUpdates", "deleteWebhook"):
            if self.before_call is not None:
                self.before_call(call)
            self.calls.append(call)
            if self.on_call is not None:
                self.on_call(call)
            if self.raise_next:
                raise self.raise_next.pop(0)
            if self.faults:
                status, body = self.faults.pop(0)
                return status, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": self.result(call)}).encode()

    def result(self, call: Call) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if call.method in ("sendMessage", "sendDocument", "editMessageText"):
            self.next_message_id += 1
            call.message_id = self.next_message_id
            chat_id = int(call.params.get("chat_id", 0))
            return {
                "message_id": self.next_message_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "text": call.text,
                "from": BOT_USER,
            }
        if call.method == "getFile":
            file_id = str(call.params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": "u" + file_id,
                "file_size": len(self.files.get(file_id, b"")),
                "file_path": file_id,
            }
        if call.method == "getUpdates":
            return []
        return True
