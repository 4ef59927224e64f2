"""A real HTTP server (raw ASGI app on uvicorn, in a thread, on a free loopback port) that answers each
route from a script: 429 with Retry-After, 503, a dropped connection, then success. It records every
request it receives so tests can assert what arrived on each retry (headers such as Idempotency-Key).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    query: str = ""

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Action:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # start a response, send part of it, then cut the connection
    forward_to: str | None = None  # proxy to this base URL first (the answer is the upstream's)

    @classmethod
    def error(cls, status: int, code: str, *, headers: dict[str, str] | None = None,
              message: str = "scripted error") -> Action:
        return cls(status=status, headers=headers or {}, body={"error": {
            "code": code, "message": message, "documentation_url": f"http://flaky/docs/errors/{code}",
            "request_id": f"req_flaky_{status}"}})


class ScriptedApp:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[tuple[str, str], list[Action]] = {}
        self.received: list[Received] = []
        self.upstream_headers: list[dict[str, str]] = []  # what forwarded requests got back

    def script(self, method: str, path: str, *actions: Action) -> None:
        with self._lock:
            self._scripts[(method.upper(), path)] = list(actions)

    def requests(self, method: str, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.method == method.upper() and r.path == path]

    def _next(self, method: str, path: str) -> Action:
        with self._lock:
            actions = self._scripts.get((method, path))
            if actions:
                return actions.pop(0) if len(actions) > 1 else actions[0]  # the last action repeats
        return Action(404, {"error": {"code": "resource_not_found", "message": "no script",
                                      "documentation_url": "http://flaky/docs/errors/resource_not_found",
                                      "request_id": "req_flaky_404"}})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        with self._lock:
            self.received.append(Received(method, path, headers, body, time.monotonic(),
                                          scope.get("query_string", b"").decode()))
        action = self._next(method, path)
        status = action.status
        payload = json.dumps(action.body if action.body is not None else {"id": "obj_1", "object": "thing"}).encode()
        extra = dict(action.headers)
        if action.forward_to is not None:
            status, payload, extra = await self._forward(action.forward_to, scope, headers, body)
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        if action.drop:
            await send({"type": "http.response.body", "body": payload[:5], "more_body": True})
            raise ConnectionAbortedError("scripted connection drop")
        await send({"type": "http.response.body", "body": payload})


    async def _forward(self, base_url: str, scope: dict[str, Any], headers: dict[str, str],
                       body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Pass the request to the real server; keep its answer (and its headers) for the test to see."""
        query = scope.get("query_string", b"").decode()
        url = f"{base_url}{scope['path']}" + (f"?{query}" if query else "")
        keep = {k: v for k, v in headers.items() if k in ("authorization", "content-type", "idempotency-key")}
        async with httpx.AsyncClient() as client:
            response = await client.request(scope["method"], url, headers=keep, content=body)
        upstream = {k.lower(): v for k, v in response.headers.items()}
        with self._lock:
            self.upstream_headers.append(upstream)
        passed = {k: v for k, v in upstream.items() if k.startswith(("x-", "idempotent", "retry-after"))}
        return response.status_code, response.content, passed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FlakyServer:
    def __init__(self) -> None:
        self.app = ScriptedApp()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # log_level critical: the scripted drops would otherwise print a traceback each.
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                     log_level="critical", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> FlakyServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("flaky server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
