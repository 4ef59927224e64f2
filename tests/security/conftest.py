"""Shared fixtures for the OWASP API Top 10 attack tests: one org holding one object of every kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers import OrgKeys


@dataclass
class Owned:
    """Ids of objects org A created in live mode, by the path prefix that serves them."""

    ids: dict[str, str] = field(default_factory=dict)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def create_everything(client: httpx.AsyncClient, receiver_url: str = "http://127.0.0.1:9/hook") -> Owned:
    """One of each object that has an id, made through the public API."""
    owned = Owned()
    asset = _ok(await client.post("/v1/assets", json={"target": "127.0.0.1", "name": "db"}))
    owned.ids["/v1/assets"] = asset["id"]
    incident = _ok(await client.post("/v1/incidents", json={
        "title": "Phishing", "severity": "high", "description": "A user clicked a link."}))
    owned.ids["/v1/incidents"] = incident["id"]
    endpoint = _ok(await client.post("/v1/webhook_endpoints", json={
        "url": receiver_url, "enabled_events": ["incident.*"]}))
    owned.ids["/v1/webhook_endpoints"] = endpoint["id"]
    channel = _ok(await client.post("/v1/notification_channels", json={
        "type": "webhook", "url": receiver_url, "name": "ops"}))
    owned.ids["/v1/notification_channels"] = channel["id"]
    rule = _ok(await client.post("/v1/triage_rules", json={"name": "p1", "actions": {"priority": "P1"}}))
    owned.ids["/v1/triage_rules"] = rule["id"]
    attestation = _ok(await client.post("/v1/compliance/attestations", json={
        "control": "SECURITY-POLICY", "status": "pass", "attested_by": "ciso@example.com"}))
    owned.ids["/v1/compliance/attestations"] = attestation["id"]
    schedule = _ok(await client.post("/v1/threats/schedules", json={"target": "127.0.0.1",
                                                                    "interval_minutes": 1440}))
    owned.ids["/v1/threats/schedules"] = schedule["id"]
    keys = _ok(await client.post("/v1/api_keys", json={"name": "ci"}))
    owned.ids["/v1/api_keys"] = keys["id"]
    audit = _ok(await client.get("/v1/audit_logs", params={"limit": 1}))
    owned.ids["/v1/audit_logs"] = audit["data"][0]["id"]
    events = _ok(await client.get("/v1/events", params={"limit": 1}))
    owned.ids["/v1/events"] = events["data"][0]["id"]
    return owned


@pytest.fixture
async def owned(org: OrgKeys) -> Owned:
    return await create_everything(org.live)


@pytest.fixture
async def make_app(app: Any, settings: Any) -> Any:
    """Build another app on the suite's (already migrated) database with some settings changed."""
    from contextlib import AsyncExitStack

    from cybervault.app import create_app

    stack = AsyncExitStack()

    async def build(**overrides: Any) -> Any:
        extra = create_app(settings.model_copy(update=overrides), migrate=False)
        await stack.enter_async_context(extra.router.lifespan_context(extra))
        return extra

    async with stack:
        yield build


@pytest.fixture(autouse=True)
def _scans_probe_only_our_own_port() -> Any:
    """Live scans started by these tests may probe one port: a listener this fixture owns."""
    import socket

    from cybervault.scanner import ScanOptions
    from cybervault.scans import runner

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    original = runner.engine_options
    runner.engine_options = lambda depth: ScanOptions(depth=depth, ports=[port], connect_timeout=0.5)  # type: ignore
    yield port
    runner.engine_options = original  # type: ignore[assignment]
    listener.close()
