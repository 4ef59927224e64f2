"""A real HTTP receiver for delivery tests: asyncio.start_server speaking just enough HTTP/1.1."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


# (request, 1-based request number) -> (status, body) or (status, body, extra headers)
Responder = Callable[[Received, int], tuple[Any, ...]]


def always(status: int, body: bytes = b"ok") -> Responder:
    return lambda _request, _n: (status, body)


REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 410: "Gone", 500: "Internal Server Error",
           503: "Service Unavailable"}


class Receiver:
    def __init__(self, responder: Responder | None = None, *, delay: float = 0.0, tls: Any = None) -> None:
        self.tls = tls
        self.responder = responder or always(200)
        self.delay = delay
        self.requests: list[Received] = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(method, path, headers, body)
                self.requests.append(request)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    if self.delay:
                        await asyncio.sleep(self.delay)  # simulates a slow receiver, not a wait in a test
                finally:
                    self.in_flight -= 1
                status, payload, *rest = self.responder(request, len(self.requests))
                extra = "".join(f"{k}: {v}\r\n" for k, v in (rest[0] if rest else {}).items())
                writer.write(f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: text/plain\r\n"
                             f"{extra}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError, OSError):
            return
        finally:
            writer.close()
