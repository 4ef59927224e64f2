"""Fixtures for scan tests, and the safety net every live scan in them runs under.

Live scans in these tests reach only 127.0.0.1 ports of servers the tests start: the engine's options
are replaced for the whole session so a scan probes exactly the ports a test registered, and a scan
started without any registered port fails before sending a packet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cybervault.scanner import ScanOptions
from cybervault.scans import runner
from tests.helpers import OrgKeys, poll_until

ALLOWED_PORTS: list[int] = []


def _test_engine_options(depth: str) -> ScanOptions:
    if not ALLOWED_PORTS:
        raise RuntimeError("test scans must name the ports of servers the test started")
    return ScanOptions(depth=depth, ports=list(ALLOWED_PORTS))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _loopback_only_engine() -> Iterator[None]:
    original = runner.engine_options
    runner.engine_options = _test_engine_options  # type: ignore[assignment]
    yield
    runner.engine_options = original  # type: ignore[assignment]


@pytest.fixture
def scan_ports() -> Iterator[list[int]]:
    """Ports this test's scans may probe (on 127.0.0.1 only: the allowed networks say so)."""
    ALLOWED_PORTS.clear()
    yield ALLOWED_PORTS
    ALLOWED_PORTS.clear()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class LoopbackServers:
    servers: list[asyncio.Server] = field(default_factory=list)

    async def start(self, handler: Handler) -> int:
        async def safe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await handler(reader, writer)
            with contextlib.suppress(Exception):
                writer.close()

        server = await asyncio.start_server(safe, "127.0.0.1", 0)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])


def banner(text: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(text)
        await writer.drain()
        await asyncio.wait_for(reader.read(1024), timeout=5)

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.wait_for(reader.read(), timeout=30)  # says nothing: detection waits out its probes


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackServers]:
    servers = LoopbackServers()
    yield servers
    for server in servers.servers:
        server.close()
    for server in servers.servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), timeout=2)


SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


@pytest.fixture
async def ssh_port(loopback: LoopbackServers, scan_ports: list[int]) -> int:
    port = await loopback.start(banner(SSH_BANNER))
    scan_ports.append(port)
    return port


async def register(client: Any, target: str = "127.0.0.1", **extra: Any) -> dict[str, Any]:
    response = await client.post("/v1/assets", json={"target": target, **extra})
    assert response.status_code in (201, 409), response.text
    return response.json()


async def wait_finished(keys: OrgKeys, scan_id: str, timeout: float = 30.0, livemode: bool = True) -> dict[str, Any]:
    client = keys.live if livemode else keys.test

    async def finished() -> dict[str, Any] | None:
        body = (await client.get(f"/v1/threats/scans/{scan_id}")).json()
        return body if body["status"] in ("completed", "failed", "canceled") else None

    return await poll_until(finished, timeout=timeout, message=f"scan {scan_id} to finish")
