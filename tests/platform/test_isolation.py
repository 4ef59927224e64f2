"""Tenant isolation: every `GET /v1/.../{id}` route answers 404 for an id from another organization or
from the other mode, exactly as for an id that does not exist.

The route list comes from the app itself, so new resources join this test automatically. Each needs a
factory (below) that creates one object with a live key and returns its id; a route without one shows
up as XFAIL "no factory" until one is added.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import base_settings
from tests.helpers import OrgKeys
from tests.platform.conftest import flat_routes

Factory = Callable[[OrgKeys], Awaitable[str]]
FACTORIES: dict[str, Factory] = {}
# Reference data shared by every tenant (not org- or mode-scoped), so isolation does not apply.
GLOBAL_PREFIXES = ("/v1/cves/", "/v1/compliance/frameworks/", "/v1/compliance/controls/")


def factory(prefix: str) -> Callable[[Factory], Factory]:
    """Register a creator for every GET route whose path starts with `prefix` (up to its first id)."""
    def register(func: Factory) -> Factory:
        FACTORIES[prefix] = func
        return func
    return register


async def _created(response: httpx.Response) -> str:
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


@factory("/v1/api_keys/")
async def _api_key(org: OrgKeys) -> str:
    client = org.live
    return await _created(await client.post("/v1/api_keys", json={"name": "isolation"}))


@factory("/v1/audit_logs/")
async def _audit_log(org: OrgKeys) -> str:
    client = org.live
    await client.post("/v1/api_keys", json={"name": "audited"})
    return str((await client.get("/v1/audit_logs", params={"limit": 1})).json()["data"][0]["id"])


@factory("/v1/compliance/attestations/")
async def _attestation(org: OrgKeys) -> str:
    client = org.live
    controls = (await client.get("/v1/compliance/controls", params={"limit": 1})).json()["data"]
    return await _created(await client.post("/v1/compliance/attestations", json={
        "control": controls[0]["id"], "status": "not_applicable", "attested_by": "isolation@example.com"}))


@factory("/v1/webhook_endpoints/")
async def _webhook_endpoint(org: OrgKeys) -> str:
    client = org.live
    return await _created(await client.post("/v1/webhook_endpoints", json={
        "url": RECEIVER["url"], "enabled_events": ["incident.created"]}))


async def _test_delivery(org: OrgKeys) -> dict[str, Any]:
    client = org.live
    endpoint_id = await _webhook_endpoint(org)
    response = await client.post(f"/v1/webhook_endpoints/{endpoint_id}/test")
    assert response.status_code == 202, response.text
    return dict(response.json())


@factory("/v1/webhook_deliveries/")
async def _webhook_delivery(org: OrgKeys) -> str:
    return str((await _test_delivery(org))["id"])


@factory("/v1/events/")
async def _event(org: OrgKeys) -> str:
    return str((await _test_delivery(org))["event"])


@factory("/v1/assets/")
async def _asset(org: OrgKeys) -> str:
    return await _created(await org.live.post("/v1/assets", json={"target": "127.0.0.9", "name": "isolation"}))


@factory("/v1/incidents/")
async def _incident(org: OrgKeys) -> str:
    return await _created(await org.live.post("/v1/incidents", json={
        "title": "Isolation check", "severity": "low", "description": "Created by the isolation test."}))


@factory("/v1/notification_channels/")
async def _channel(org: OrgKeys) -> str:
    return await _created(await org.live.post("/v1/notification_channels", json={
        "type": "webhook", "name": "isolation", "url": RECEIVER["url"]}))


@factory("/v1/triage_rules/")
async def _triage_rule(org: OrgKeys) -> str:
    return await _created(await org.live.post("/v1/triage_rules", json={
        "name": "isolation", "actions": {"assign": "oncall@example.com"}}))


@factory("/v1/threats/schedules/")
async def _schedule(org: OrgKeys) -> str:
    """Written through the model with its first run a day away, so no live scan can start."""
    import datetime as dt

    from cybervault.kit.db import utcnow
    from cybervault.kit.ids import new_id
    from cybervault.scans.models import ScanSchedule

    now = utcnow()
    schedule = ScanSchedule(id=new_id("ssch"), org_id=org.id, livemode=True, target="127.0.0.9", asset_ids=[],
                            depth="quick", include_vulns=False, interval_minutes=1440, active=True,
                            next_run_at=now + dt.timedelta(days=1), created_at=now, updated_at=now)
    async with org.app.state.db.session() as session:
        session.add(schedule)
        await session.commit()
    return schedule.id


async def _stored_scan_with_finding(org: OrgKeys) -> tuple[str, str]:
    """A finished live scan and its finding, written through the models: a live scan here would send
    packets, and isolation is about reading, not scanning."""
    from cybervault.kit.db import utcnow
    from cybervault.kit.ids import new_id
    from cybervault.scans.models import Finding, Scan, ScanFinding

    now = utcnow()
    scan = Scan(id=new_id("sc"), org_id=org.id, livemode=True, target="127.0.0.9", depth="quick",
                include_vulns=False, status="completed", progress={"percent": 100.0}, threats_found=1,
                started_at=now, completed_at=now, created_at=now, updated_at=now)
    finding = Finding(id=new_id("fnd"), org_id=org.id, livemode=True, fingerprint=new_id("fp"), type="open_port",
                      severity="low", details="Port 8080 open on 127.0.0.9", host="127.0.0.9", port=8080,
                      first_seen=now, last_seen=now, scan_id=scan.id, created_at=now, updated_at=now)
    async with org.app.state.db.session() as session:
        session.add_all([scan, finding])
        await session.flush()
        session.add(ScanFinding(scan_id=scan.id, finding_id=finding.id))
        await session.commit()
    return scan.id, finding.id


@factory("/v1/threats/scans/")
async def _scan(org: OrgKeys) -> str:
    return (await _stored_scan_with_finding(org))[0]


@factory("/v1/threats/findings/")
async def _finding(org: OrgKeys) -> str:
    return (await _stored_scan_with_finding(org))[1]


# Webhook test deliveries go to this receiver, started by the test on loopback.
RECEIVER: dict[str, str] = {}


@pytest.fixture(autouse=True)
async def _receiver() -> AsyncIterator[None]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    RECEIVER["url"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    try:
        yield
    finally:
        server.close()


def _id_routes() -> list[str]:
    app = _route_source()
    paths = {path for path, methods, _ in flat_routes(app) if "GET" in methods and path.startswith("/v1/")}
    return sorted(p for p in paths if "{" in p and not p.startswith(GLOBAL_PREFIXES))


def _route_source() -> Any:
    from cybervault.app import create_app

    return create_app(base_settings(database_url="sqlite+aiosqlite:///./unused-route-listing.db"))


def _prefix(path: str) -> str:
    return path.split("{", 1)[0]


def _fill(path: str, object_id: str) -> str:
    return re.sub(r"\{[^}]+\}", object_id, path, count=1)


def _normalized(response: httpx.Response, object_id: str) -> dict[str, Any]:
    error = dict(response.json()["error"])
    error.pop("request_id", None)
    error["message"] = error["message"].replace(object_id, "<id>")
    return error


ROUTES = _id_routes()


def test_route_listing_finds_id_routes() -> None:
    assert "/v1/api_keys/{key_id}" in ROUTES and "/v1/audit_logs/{audit_log_id}" in ROUTES
    missing = sorted({_prefix(r) for r in ROUTES} - set(FACTORIES))
    if missing:
        import warnings

        warnings.warn(f"isolation factories missing for: {missing}", stacklevel=1)


@pytest.mark.parametrize("route", ROUTES)
async def test_foreign_ids_are_404(route: str, org: OrgKeys, other_org: OrgKeys) -> None:
    make = FACTORIES.get(_prefix(route))
    if make is None:
        pytest.xfail(f"no factory for {_prefix(route)}: add one in tests/platform/test_isolation.py")
    object_id = await make(org)
    path = _fill(route, object_id)
    own = await org.live.get(path)
    assert own.status_code == 200, f"owner cannot read {path}: {own.text}"

    missing_id = object_id[:-4] + ("0000" if not object_id.endswith("0000") else "1111")
    absent = await org.live.get(_fill(route, missing_id))
    assert absent.status_code == 404
    expected = _normalized(absent, missing_id)
    assert expected["code"] == "resource_not_found"

    for who, client in (("other org, live", other_org.live), ("other org, test", other_org.test),
                        ("same org, test mode", org.test)):
        response = await client.get(path)
        assert response.status_code == 404, f"{who} read {path}: {response.status_code}"
        assert _normalized(response, object_id) == expected, f"{who}: 404 must look like a missing id"
