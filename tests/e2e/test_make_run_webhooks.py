"""Through `make run` (bootstrap, then serve: SQLite file, in-process jobs), an incident, a compliance change
and a scan each reach a configured webhook endpoint, signed both ways: Standard Webhooks headers checked
with the `standardwebhooks` library, and `X-CyberVault-Signature` checked with the published verify().

The scan is a sandbox scan (a `cv_test_` key), which sends no packets; its event goes to a test-mode endpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.served import make_run
from tests.helpers import poll_until
from tests.webhooks.receiver import Received, Receiver
from tests.webhooks.seed_verify import verify

pytestmark = pytest.mark.slow

# An attestation is a compliance change an API user makes; PHYSICAL-ACCESS is the only control of SOC 2 CC6.4.
CHANGED_CONTROL, CHANGED_FRAMEWORK, CHANGED_REQUIREMENT = "PHYSICAL-ACCESS", "soc2", "CC6.4"
EARLIER_CONTROL = "ENVIRONMENTAL-PROTECTION"  # maps to other requirements


async def _endpoint(client: httpx.AsyncClient, url: str, events: list[str]) -> str:
    response = await client.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": events})
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


async def _attest(client: httpx.AsyncClient, control: str, status: str) -> None:
    response = await client.post("/v1/compliance/attestations", json={
        "control": control, "status": status, "attested_by": "auditor@example.com"})
    assert response.status_code == 201, response.text


async def _recorded(client: httpx.AsyncClient, control: str, status: str) -> bool:
    """Whether a posture snapshot has recorded the control at `status` (the server evaluates in the background)."""
    history = (await client.get("/v1/compliance/posture/history", params={"limit": 100})).json()["data"]
    return any(snapshot["controls"][control] == status for snapshot in history)


def _verified(request: Received, secret: str) -> dict[str, Any]:
    """The event, once both signature schemes accept the exact bytes received."""
    assert request.method == "POST"
    assert verify(request.body, request.headers["x-cybervault-signature"], secret)
    event = Webhook(secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == event["id"]
    return dict(event)


def _events(receiver: Receiver, event_type: str) -> list[dict[str, Any]]:
    return [e for e in map(json.loads, (r.body for r in receiver.requests)) if e["type"] == event_type]


def _changed_requirement(receiver: Receiver) -> dict[str, Any] | None:
    return next((e for e in _events(receiver, "compliance.changed")
                 if (e["data"]["object"]["framework"], e["data"]["object"]["requirement"])
                 == (CHANGED_FRAMEWORK, CHANGED_REQUIREMENT)), None)


async def test_incident_compliance_change_and_scan_reach_endpoints_through_make_run(tmp_path: Path) -> None:
    async with Receiver() as live_receiver, Receiver() as test_receiver:
        with make_run(tmp_path, webhook_allowed_networks="127.0.0.0/8") as server:
            await server.wait_ready()
            async with server.client(server.live_key) as live, server.client(server.test_key) as test:
                live_secret = await _endpoint(live, live_receiver.url, ["incident.created", "compliance.changed"])
                test_secret = await _endpoint(test, test_receiver.url, ["scan.completed"])

                incident = await live.post("/v1/incidents", json={
                    "title": "Exposed Redis", "severity": "high", "description": "Redis without a password"})
                assert incident.status_code == 201, incident.text

                # A tenant's first evaluation is its baseline and records no change, so one attestation is
                # recorded first; the second then flips CC6.4 from not_assessed to fail.
                await _attest(live, EARLIER_CONTROL, "pass")
                await poll_until(lambda: _recorded(live, EARLIER_CONTROL, "pass"),
                                 message="the first attestation evaluated")
                await _attest(live, CHANGED_CONTROL, "fail")

                scan = await test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24",
                                                                   "depth": "standard"})
                assert scan.status_code == 200, scan.text

                await poll_until(lambda: _events(live_receiver, "incident.created"), message="incident.created")
                await poll_until(lambda: _changed_requirement(live_receiver), message="compliance.changed CC6.4")
                await poll_until(lambda: _events(test_receiver, "scan.completed"), message="scan.completed")

    for request in live_receiver.requests:
        event = _verified(request, live_secret)
        assert event["livemode"] is True
    for request in test_receiver.requests:
        event = _verified(request, test_secret)
        assert event["livemode"] is False

    assert [e["data"]["object"]["id"] for e in _events(live_receiver, "incident.created")] == [incident.json()["id"]]
    changed = _changed_requirement(live_receiver)
    assert changed is not None
    assert changed["data"]["object"]["before"] == "not_assessed"
    assert changed["data"]["object"]["after"] == changed["data"]["object"]["status"] == "fail"
    assert changed["data"]["previous_attributes"] == {"status": "not_assessed"}
    assert [c["id"] for c in changed["data"]["object"]["controls"]] == [CHANGED_CONTROL]
    completed = _events(test_receiver, "scan.completed")
    assert [e["data"]["object"]["id"] for e in completed] == [scan.json()["scan_id"]]
    assert completed[0]["data"]["object"]["threats_found"] == 2  # the published example's result
