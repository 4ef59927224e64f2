"""Events from other domains reach a configured endpoint through the real API, signed both ways."""

from __future__ import annotations

import json

from standardwebhooks import Webhook

from tests.helpers import OrgKeys, poll_until
from tests.webhooks.receiver import Receiver
from tests.webhooks.seed_verify import verify


async def _endpoint(client: object, url: str) -> str:
    response = await client.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": ["*"]})  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


async def test_incident_and_sandbox_scan_events_are_delivered(org: OrgKeys) -> None:
    async with Receiver() as live_receiver, Receiver() as test_receiver:
        live_secret = await _endpoint(org.live, live_receiver.url)
        test_secret = await _endpoint(org.test, test_receiver.url)
        created = await org.live.post("/v1/incidents", json={
            "title": "Exposed Redis", "severity": "high", "description": "Redis without a password"})
        assert created.status_code in (200, 201), created.text
        # A sandbox (test-key) scan sends no packets; its scan.completed event is still delivered.
        scan = await org.test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24", "depth": "standard"})
        assert scan.status_code in (200, 202), scan.text

        def types(receiver: Receiver) -> set[str]:
            return {json.loads(r.body)["type"] for r in receiver.requests}

        # Default deadline (30 s): a first attempt the inline sender could not make is made by its own job
        # after the grace period (lease + timeout + 5 s = 25 s in tests).
        await poll_until(lambda: "incident.created" in types(live_receiver), message="incident event")
        await poll_until(lambda: "scan.completed" in types(test_receiver), message="scan event")
        for receiver, secret in ((live_receiver, live_secret), (test_receiver, test_secret)):
            for request in receiver.requests:
                assert verify(request.body, request.headers["x-cybervault-signature"], secret)
                Webhook(secret).verify(request.body, request.headers)
        incident = next(json.loads(r.body) for r in live_receiver.requests
                        if json.loads(r.body)["type"] == "incident.created")
        assert incident["data"]["object"]["id"] == created.json()["id"] and incident["livemode"] is True
