"""Outgoing POSTs for deliveries: one pooled client per process (event loop), SSRF-checked twice.

The URL is checked before the request (ssrf.check_url) and the address the socket actually connected
to is checked again from httpcore's connect trace, before a byte of the request is written, so a DNS
answer that changes between the two lookups (rebinding) cannot reach a forbidden address. Redirects
are never followed; proxies from the environment are ignored (they would hide the real peer).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

import httpx

from cybervault.config import Settings
from cybervault.kit.errors import UnsafeUrl
from cybervault.webhooks import ssrf
from cybervault.webhooks.delivery import SendResult

EXCERPT_BYTES = 1024
USER_AGENT = "CyberVault-Webhooks/1.0"

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


class _RefusedPeer(Exception):
    pass


def client() -> httpx.AsyncClient:
    """The process's client for the running event loop (connections are reused across deliveries)."""
    loop = asyncio.get_running_loop()
    existing = _clients.get(loop)
    if existing is None or existing.is_closed:
        existing = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30),
        )
        _clients[loop] = existing
    return existing


async def close_client() -> None:
    existing = _clients.pop(asyncio.get_running_loop(), None)
    if existing is not None:
        await existing.aclose()


def _peer_guard(allowed_networks: list[str]) -> Any:
    async def trace(name: str, info: dict[str, Any]) -> None:
        if name != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        problem = "an unknown address" if not peer else ssrf.address_problem(str(peer[0]).split("%")[0],
                                                                            allowed_networks)
        if problem:
            await stream.aclose()
            raise _RefusedPeer(f"unsafe_url: connected to {peer[0] if peer else '?'}, {problem}; refused "
                               "before sending")

    return trace


def _excerpt(raw: bytes) -> str | None:
    return raw[:EXCERPT_BYTES].decode("utf-8", "replace") if raw else None


async def post_json(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> SendResult:
    """POST `body` as JSON. Never raises for network problems: they come back as a failed SendResult."""
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    allowed = list(settings.webhook_allowed_networks)
    try:
        await ssrf.check_url(url, allowed)
    except UnsafeUrl as exc:
        return SendResult(False, None, elapsed(), None, f"unsafe_url: {exc.message}")
    total = settings.webhook_timeout_seconds
    timeout = httpx.Timeout(total, connect=settings.webhook_connect_timeout_seconds)
    request_headers = {"Content-Type": "application/json", **headers}
    try:
        async with asyncio.timeout(total):
            async with client().stream("POST", url, content=body, headers=request_headers, timeout=timeout,
                                       extensions={"trace": _peer_guard(allowed)}) as response:
                raw = b""
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) >= EXCERPT_BYTES:
                        break  # the rest is not read: a huge body cannot tie up the worker
                status = response.status_code
    except _RefusedPeer as exc:
        return SendResult(False, None, elapsed(), None, str(exc))
    except httpx.ConnectTimeout:
        return SendResult(False, None, elapsed(), None, f"connect timeout after {timeout.connect}s")
    except (TimeoutError, httpx.TimeoutException):
        return SendResult(False, None, elapsed(), None, f"timed out after {total}s")
    except httpx.HTTPError as exc:
        return SendResult(False, None, elapsed(), None, f"{type(exc).__name__}: {exc}"[:500])
    except OSError as exc:
        return SendResult(False, None, elapsed(), None, f"network error: {exc}"[:500])
    latency = elapsed()
    excerpt = _excerpt(raw)
    if 200 <= status < 300:
        return SendResult(True, status, latency, excerpt, None)
    if status == 410:
        return SendResult(False, status, latency, excerpt, "410 Gone: the receiver asked us to stop", gone=True)
    if 300 <= status < 400:
        return SendResult(False, status, latency, excerpt, f"HTTP {status}: redirects are not followed")
    return SendResult(False, status, latency, excerpt, f"HTTP {status}")
