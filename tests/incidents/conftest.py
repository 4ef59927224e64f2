"""Fixtures for incident tests: real HTTP receivers, a real SMTP server, and direct seeding of assets/findings."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id
from tests.helpers import free_port, poll_until


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """A loopback HTTP/1.1 server that records every POST and answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[Request] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> HttpReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Request]:
        await poll_until(lambda: len(self.requests) >= count, timeout=timeout,
                         message=f"{count} request(s) at the receiver")
        return self.requests

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                start = await reader.readline()
                if not start:
                    return
                path = start.decode("latin-1").split(" ")[1]
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Request(path, headers, body))
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            return
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    server = await HttpReceiver().start()
    yield server
    await server.stop()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                import email

                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                      email.message_from_bytes(envelope.content)))
                return "250 Message accepted"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


@pytest.fixture
def smtp() -> Any:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


async def seed_asset(app: Any, org_id: str, target: str, *, livemode: bool = True, kind: str = "ip",
                     criticality: str = "medium", tags: list[str] | None = None) -> str:
    from cybervault.assets.models import Asset

    asset_id = new_id("ast")
    now = utcnow()
    async with app.state.db.session() as session:
        session.add(Asset(id=asset_id, org_id=org_id, livemode=livemode, target=target, kind=kind, name=target,
                          tags=tags or [], criticality=criticality, created_at=now, updated_at=now))
        await session.commit()
    return asset_id


async def seed_finding(app: Any, org_id: str, host: str, *, severity: str = "critical", cve: str | None = None,
                       kev: bool = False, livemode: bool = True, status: str = "open") -> str:
    from cybervault.scans.models import Finding

    finding_id = new_id("fnd")
    now = utcnow()
    async with app.state.db.session() as session:
        session.add(Finding(id=finding_id, org_id=org_id, livemode=livemode, fingerprint=finding_id, type=(
            "vulnerable_service" if cve else "open_port"), severity=severity, details=f"test finding on {host}",
            cve=cve, host=host, port=8080, protocol="tcp", kev=kev, cvss=9.8 if cve else None,
            confidence="confirmed", first_seen=now, last_seen=now, status=status, created_at=now,
            updated_at=now))
        await session.commit()
    return finding_id


async def events_of(app: Any, org_id: str, type: str | None = None, *, livemode: bool = True) -> list[Any]:
    from cybervault.events.models import Event

    async with app.state.db.session() as session:
        stmt = select(Event).where(Event.org_id == org_id, Event.livemode == livemode).order_by(Event.id)
        if type:
            stmt = stmt.where(Event.type == type)
        return list((await session.scalars(stmt)).all())


async def deliveries_of(app: Any, channel_id: str) -> list[Any]:
    from cybervault.webhooks.models import Delivery

    async with app.state.db.session() as session:
        stmt = select(Delivery).where(Delivery.target_id == channel_id).order_by(Delivery.id)
        return list((await session.scalars(stmt)).all())


async def make_incident(client: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "Suspicious login burst", "severity": "medium",
            "description": "Many failed logins followed by a success from a new country."}
    body.update(fields)
    response = await client.post("/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    return response.json()
