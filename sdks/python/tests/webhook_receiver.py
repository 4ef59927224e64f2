"""A real local HTTP receiver for webhook deliveries: keeps each raw body and its headers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn

from .flaky_server import _free_port


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class _App:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.deliveries.append(Delivery(scope["path"], headers, body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


class WebhookReceiver:
    def __init__(self) -> None:
        self._app = _App()
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}/hook"
        self._server = uvicorn.Server(uvicorn.Config(self._app, host="127.0.0.1", port=port, log_level="critical",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self._app.deliveries)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
