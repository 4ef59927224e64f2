"""Connection helpers shared by the probes: every wait is bounded, every socket is closed."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from time import monotonic


@dataclass
class ProbeContext:
    host: str
    port: int
    depth: str
    connect_timeout: float = 1.5
    read_timeout: float = 1.5


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rtt: float) -> None:
        self.reader, self.writer, self.rtt = reader, writer, rtt

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_some(self, timeout: float, limit: int = 65536) -> bytes:
        """What arrives within ``timeout`` (first chunk plus whatever follows right behind it)."""
        try:
            data = await asyncio.wait_for(self.reader.read(limit), timeout)
        except (TimeoutError, ConnectionError, OSError):
            return b""
        # A greeting may come in several segments: take what follows within a short grace period.
        while data and len(data) < limit:
            try:
                more = await asyncio.wait_for(self.reader.read(limit - len(data)), 0.05)
            except (TimeoutError, ConnectionError, OSError):
                break
            if not more:
                break
            data += more
        return data

    async def read_exact(self, n: int, timeout: float) -> bytes | None:
        try:
            return await asyncio.wait_for(self.reader.readexactly(n), timeout)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
            return None

    async def read_until_closed(self, timeout: float, limit: int = 262144) -> bytes:
        deadline = monotonic() + timeout
        buf = b""
        while len(buf) < limit:
            left = deadline - monotonic()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(self.reader.read(limit - len(buf)), left)
            except (TimeoutError, ConnectionError, OSError):
                break
            if not chunk:
                break
            buf += chunk
        return buf


@contextlib.asynccontextmanager
async def connect(ctx: ProbeContext, tls: ssl.SSLContext | None = None) -> AsyncIterator[Conn | None]:
    """Yield a connection, or None when the port does not accept one in time."""
    started = monotonic()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(ctx.host, ctx.port, ssl=tls, server_hostname="" if tls else None),
            ctx.connect_timeout + (ctx.read_timeout if tls else 0),
        )
    except (TimeoutError, OSError, ssl.SSLError, ValueError):
        yield None
        return
    try:
        yield Conn(reader, writer, monotonic() - started)
    finally:
        writer.transport.abort()  # no lingering FIN handshakes; TLS close_notify is not needed
