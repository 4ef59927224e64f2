"""Outgoing POSTs for deliveries: a small HTTP/1.1 client with per-origin keep-alive, SSRF-checked twice.

The URL is checked before connecting (ssrf.check_url), and the address the socket actually connected
to is checked again before TLS starts or a byte of the request is written, so a DNS answer that
changes between the two lookups (rebinding) cannot reach a forbidden address. Redirects are never
followed and proxies from the environment are never used (they would hide the real peer).

Why not httpx here: on the delivery hot path its pool scans every connection per request and
re-probes the async library on each call; profiling showed that dominating worker CPU. A POST with a
JSON body and a capped read of the answer needs very little of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import SplitResult

from cybervault.config import Settings
from cybervault.kit.errors import UnsafeUrl
from cybervault.webhooks import ssrf
from cybervault.webhooks.delivery import SendResult

EXCERPT_BYTES = 1024
DRAIN_BYTES = 64 * 1024  # answers up to this size are read fully so the connection can be reused
IDLE_PER_ORIGIN = 64  # several endpoints may share one origin, each with its own concurrency limit
IDLE_SECONDS = 30.0
USER_AGENT = "CyberVault-Webhooks/1.0"

Origin = tuple[str, str, int]


class RefusedPeer(Exception):
    pass


class ProtocolError(Exception):
    pass


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = field(default_factory=time.monotonic)

    def usable(self) -> bool:
        return (not self.reader.at_eof() and not self.writer.is_closing()
                and time.monotonic() - self.last_used < IDLE_SECONDS)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


_idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Origin, list[_Connection]]] = (
    weakref.WeakKeyDictionary())


def _pool() -> dict[Origin, list[_Connection]]:
    loop = asyncio.get_running_loop()
    pool = _idle.get(loop)
    if pool is None:
        pool = _idle[loop] = {}
    return pool


def _take(origin: Origin) -> _Connection | None:
    idle = _pool().get(origin, [])
    while idle:
        conn = idle.pop()
        if conn.usable():
            return conn
        conn.close()
    return None


def _give_back(origin: Origin, conn: _Connection) -> None:
    idle = _pool().setdefault(origin, [])
    if len(idle) >= IDLE_PER_ORIGIN:
        conn.close()
        return
    conn.last_used = time.monotonic()
    idle.append(conn)


async def close_connections() -> None:
    for idle in _pool().values():
        for conn in idle:
            conn.close()
    _pool().clear()


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


async def _open_tcp(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The one place a socket is opened (tests spy on it)."""
    return await asyncio.open_connection(host, port, limit=DRAIN_BYTES * 2)


async def _connect(parts: SplitResult, allowed: list[str], connect_timeout: float) -> _Connection:
    host, port = parts.hostname or "", ssrf.default_port(parts)
    reader, writer = await asyncio.wait_for(_open_tcp(host, port), connect_timeout)
    peer = writer.get_extra_info("peername")
    address = str(peer[0]).split("%")[0] if peer else None
    problem = ssrf.address_problem(address, allowed) if address else "an unknown address"
    if problem:
        writer.close()
        raise RefusedPeer(f"unsafe_url: connected to {address}, {problem}; refused before sending")
    if parts.scheme == "https":
        await asyncio.wait_for(writer.start_tls(_tls_context(), server_hostname=host), connect_timeout)
    return _Connection(reader, writer)


def _request_bytes(parts: SplitResult, body: bytes, headers: dict[str, str]) -> bytes:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"User-Agent: {USER_AGENT}",
             "Content-Type: application/json", f"Content-Length: {len(body)}", "Connection: keep-alive"]
    for name, value in headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise ProtocolError("response headers too large") from None
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise ProtocolError(f"malformed status line {lines[0][:80]!r}") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if status >= 200 or status == 101:
            return status, headers
        # 1xx interim answers (100 Continue) are skipped


async def _read_body(reader: asyncio.StreamReader, status: int, headers: dict[str, str]) -> tuple[bytes, bool]:
    """(the first bytes of the body, whether the connection can be reused)."""
    keep = headers.get("connection", "").lower() != "close"
    if status in (204, 304):
        return b"", keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        data = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return data, keep
            if len(data) + size > DRAIN_BYTES:
                return (data + await reader.read(EXCERPT_BYTES))[:EXCERPT_BYTES], False
            data += await reader.readexactly(size)
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        size = int(length)
        if size <= DRAIN_BYTES:
            return await reader.readexactly(size), keep
        return await reader.readexactly(EXCERPT_BYTES), False
    return await reader.read(EXCERPT_BYTES), False  # length unknown: read a little, then close


async def _exchange(conn: _Connection, request: bytes) -> tuple[int, bytes, bool]:
    conn.writer.write(request)
    await conn.writer.drain()
    status, headers = await _read_head(conn.reader)
    raw, reusable = await _read_body(conn.reader, status, headers)
    return status, raw, reusable


async def post_json(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> SendResult:
    """POST `body` as JSON. Never raises for network problems: they come back as a failed SendResult."""
    started = time.perf_counter()

    def failed(error: str) -> SendResult:
        return SendResult(False, None, int((time.perf_counter() - started) * 1000), None, error[:500])

    allowed = list(settings.webhook_allowed_networks)
    try:
        await ssrf.check_url(url, allowed)
        parts = ssrf.parse_url(url)
        request = _request_bytes(parts, body, headers)
    except UnsafeUrl as exc:
        return failed(f"unsafe_url: {exc.message}")
    except ValueError as exc:
        return failed(f"invalid request: {exc}")
    origin: Origin = (parts.scheme, parts.hostname or "", ssrf.default_port(parts))
    total, connect_timeout = settings.webhook_timeout_seconds, settings.webhook_connect_timeout_seconds
    conn: _Connection | None = None
    try:
        async with asyncio.timeout(total):
            conn = _take(origin)
            if conn is not None:
                try:
                    status, raw, reusable = await _exchange(conn, request)
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn.close()  # the receiver closed an idle connection: once more on a fresh one
                    conn = None
            if conn is None:
                conn = await _connect(parts, allowed, connect_timeout)
                status, raw, reusable = await _exchange(conn, request)
    except RefusedPeer as exc:
        return failed(str(exc))
    except TimeoutError:
        if conn is not None:
            conn.close()
        return failed(f"timed out after {total}s" if conn is not None else f"connect timeout after {connect_timeout}s")
    except (ssl.SSLError, ssl.CertificateError) as exc:
        return failed(f"TLS error: {exc}")
    except (OSError, asyncio.IncompleteReadError, ProtocolError, ValueError) as exc:
        if conn is not None:
            conn.close()
        return failed(f"{type(exc).__name__}: {exc}")
    if reusable:
        _give_back(origin, conn)
    else:
        conn.close()
    latency = int((time.perf_counter() - started) * 1000)
    excerpt = raw[:EXCERPT_BYTES].decode("utf-8", "replace") if raw else None
    if 200 <= status < 300:
        return SendResult(True, status, latency, excerpt, None)
    if status == 410:
        return SendResult(False, status, latency, excerpt, "410 Gone: the receiver asked us to stop", gone=True)
    if 300 <= status < 400:
        return SendResult(False, status, latency, excerpt, f"HTTP {status}: redirects are not followed")
    return SendResult(False, status, latency, excerpt, f"HTTP {status}")
