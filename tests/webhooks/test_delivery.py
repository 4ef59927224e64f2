"""Deliveries reach a real receiver, signed both ways; the retry schedule, 410 and rotation behave."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import update
from standardwebhooks import Webhook

from cybervault.webhooks.models import WebhookEndpoint
from tests.helpers import OrgKeys, poll_until
from tests.webhooks.conftest import emit
from tests.webhooks.receiver import Receiver
from tests.webhooks.seed_verify import verify


async def make_endpoint(client: Any, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = await client.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": events or ["*"],
                                                                "description": "test receiver"})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(client: Any, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_event_is_delivered_signed_both_ways(org: OrgKeys, receiver: Receiver) -> None:
    endpoint = await make_endpoint(org.live, receiver.url)
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    event_id = await emit(org.app, org.id, "incident.created")

    await poll_until(lambda: receiver.requests, message="the delivery")
    request = receiver.requests[0]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert verify(request.body, request.headers["x-cybervault-signature"], secret)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["id"] == event_id == request.headers["webhook-id"]
    assert payload["type"] == "incident.created"
    assert payload["object"] == "event" and payload["livemode"] is True
    assert payload["data"]["object"]["title"] == "Disk full ✓"
    # Another secret must not verify: the signature really depends on the secret.
    assert not verify(request.body, request.headers["x-cybervault-signature"], secret + "x")

    rows = await poll_until(lambda: _succeeded(org.live, endpoint["id"]), message="succeeded delivery row")
    assert rows[0]["event"] == event_id and rows[0]["attempt_count"] == 1
    attempt = rows[0]["attempts"][0]
    assert attempt["status_code"] == 200 and attempt["succeeded"] is True
    assert attempt["response_excerpt"] == "ok" and attempt["latency_ms"] >= 0


async def _succeeded(client: Any, endpoint_id: str) -> list[dict[str, Any]]:
    return [d for d in await deliveries(client, endpoint_id) if d["status"] == "succeeded"]


async def test_only_matching_enabled_endpoints_of_the_same_mode_receive(org: OrgKeys, other_org: OrgKeys) -> None:
    async with Receiver() as scans, Receiver() as incidents, Receiver() as test_mode, Receiver() as other:
        await make_endpoint(org.live, scans.url, ["scan.completed"])
        await make_endpoint(org.live, incidents.url, ["incident.*"])
        await make_endpoint(org.test, test_mode.url, ["*"])
        await make_endpoint(other_org.live, other.url, ["*"])
        disabled = await make_endpoint(org.live, incidents.url, ["*"])
        patched = await org.live.patch(f"/v1/webhook_endpoints/{disabled['id']}", json={"status": "disabled"})
        assert patched.json()["status"] == "disabled"

        scan_event = await emit(org.app, org.id, "scan.completed", obj={"id": "sc_1", "object": "scan"})
        incident_event = await emit(org.app, org.id, "incident.resolved")
        await poll_until(lambda: scans.requests and incidents.requests, message="both deliveries")
        test_event = await emit(org.app, org.id, "incident.created", livemode=False)
        await poll_until(lambda: test_mode.requests, message="test-mode delivery")

        assert [json.loads(r.body)["id"] for r in scans.requests] == [scan_event]
        assert [json.loads(r.body)["id"] for r in incidents.requests] == [incident_event]
        assert [json.loads(r.body)["id"] for r in test_mode.requests] == [test_event]
        assert json.loads(test_mode.requests[0].body)["livemode"] is False
        assert other.requests == []


async def test_failures_then_success_follow_the_retry_schedule(org: OrgKeys) -> None:
    # 500, 503, 500, then 200: attempts at 0, ~5 ms, ~300 ms and ~1.8 s after (schedule × 0.001).
    statuses = [500, 503, 500]

    def responder(_request: object, n: int) -> tuple[int, bytes]:
        return (statuses[n - 1], b"nope") if n <= len(statuses) else (200, b"fine")

    async with Receiver(responder) as server:
        endpoint = await make_endpoint(org.live, server.url)
        await emit(org.app, org.id)
        await poll_until(lambda: len(server.requests) >= 4, timeout=40, message="four attempts")
        gaps = [b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)]
        # Each wait is at least the scheduled delay (−10 % jitter) and they grow as scheduled.
        assert gaps[1] >= 0.3 * 0.9 and gaps[2] >= 1.8 * 0.9
        assert gaps[2] > gaps[1]
        rows = await poll_until(lambda: _succeeded(org.live, endpoint["id"]), message="delivery succeeded")
        assert rows[0]["attempt_count"] == 4
        codes = [a["status_code"] for a in reversed(rows[0]["attempts"])]
        assert codes == [500, 503, 500, 200]
        assert rows[0]["attempts"][-1]["response_excerpt"] == "nope"
        ids = {json.loads(r.body)["id"] for r in server.requests}
        assert len(ids) == 1  # the same event each time, with the same webhook-id
        assert {r.headers["webhook-id"] for r in server.requests} == ids


async def test_gone_disables_the_endpoint_at_once(org: OrgKeys) -> None:
    async with Receiver(lambda _r, _n: (410, b"gone")) as server:
        endpoint = await make_endpoint(org.live, server.url)
        await emit(org.app, org.id)

        async def disabled() -> dict[str, Any] | None:
            body = (await org.live.get(f"/v1/webhook_endpoints/{endpoint['id']}")).json()
            return body if body["status"] == "disabled" else None

        body = await poll_until(disabled, message="endpoint disabled")
        assert "410" in body["disabled_reason"]
        rows = await deliveries(org.live, endpoint["id"])
        assert rows[0]["status"] == "failed" and rows[0]["attempt_count"] == 1
        await emit(org.app, org.id)  # a disabled endpoint gets nothing more
        assert (await org.live.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries")).json()["data"][0][
            "event"] == rows[0]["event"]
        assert len(server.requests) == 1


async def test_rotation_sends_both_signatures_for_the_overlap(org: OrgKeys, receiver: Receiver) -> None:
    endpoint = await make_endpoint(org.live, receiver.url)
    old = endpoint["secret"]
    rotated = await org.live.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    revealed = (await org.live.get(f"/v1/webhook_endpoints/{endpoint['id']}/secret")).json()
    assert revealed["secret"] == new and revealed["previous_secret_expires_at"] is not None

    await emit(org.app, org.id)
    await poll_until(lambda: receiver.requests, message="delivery after rotation")
    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    # Receivers on either secret accept it, with either scheme.
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)
    assert verify(request.body, request.headers["x-cybervault-signature"], new)
    assert verify(request.body, request.headers["x-cybervault-signature-previous"], old)


async def test_test_event_goes_only_to_that_endpoint(org: OrgKeys) -> None:
    async with Receiver() as first, Receiver() as second:
        target = await make_endpoint(org.live, first.url, ["incident.created"])
        await make_endpoint(org.live, second.url, ["*"])
        response = await org.live.post(f"/v1/webhook_endpoints/{target['id']}/test")
        assert response.status_code == 202
        assert response.json()["object"] == "webhook_delivery"
        await poll_until(lambda: first.requests, message="test delivery")
        payload = Webhook(target["secret"]).verify(first.requests[0].body, first.requests[0].headers)
        assert payload["type"] == "webhook.test" and payload["data"]["object"]["id"] == target["id"]
        event = await org.live.get(f"/v1/events/{payload['id']}")
        assert event.json()["type"] == "webhook.test"
        assert second.requests == []


async def test_manual_retry_after_the_receiver_is_fixed(org: OrgKeys, other_org: OrgKeys) -> None:
    # 410 fails the delivery and disables the endpoint; the owner fixes things, re-enables, retries.
    async with Receiver(lambda _r, n: (410, b"gone") if n == 1 else (200, b"back")) as server:
        endpoint = await make_endpoint(org.live, server.url)
        await emit(org.app, org.id)
        rows = await poll_until(lambda: _failed(org.live, endpoint["id"]), message="failed delivery")
        refused = await org.live.post(f"/v1/webhook_deliveries/{rows[0]['id']}/retry")
        assert refused.status_code == 409 and "disabled" in refused.json()["error"]["message"]

        enabled = await org.live.patch(f"/v1/webhook_endpoints/{endpoint['id']}", json={"status": "enabled"})
        assert enabled.json()["status"] == "enabled" and enabled.json()["disabled_reason"] is None
        retried = await org.live.post(f"/v1/webhook_deliveries/{rows[0]['id']}/retry")
        assert retried.status_code == 202 and retried.json()["status"] == "pending"
        done = await poll_until(lambda: _succeeded(org.live, endpoint["id"]), message="retried delivery")
        assert done[0]["id"] == rows[0]["id"] and done[0]["attempt_count"] == 2
        assert len(server.requests) == 2
        foreign = await other_org.live.post(f"/v1/webhook_deliveries/{rows[0]['id']}/retry")
        assert foreign.status_code == 404


async def _failed(client: Any, endpoint_id: str) -> list[dict[str, Any]]:
    return [d for d in await deliveries(client, endpoint_id) if d["status"] == "failed"]


async def test_redirects_are_not_followed(org: OrgKeys) -> None:
    async with Receiver() as target:

        def responder(_request: object, _n: int) -> tuple[int, bytes, dict[str, str]]:
            return 301, b"", {"Location": target.url}

        async with Receiver(responder) as server:
            endpoint = await make_endpoint(org.live, server.url)
            await emit(org.app, org.id)
            await poll_until(lambda: server.requests, message="attempt")
            rows = await poll_until(lambda: _attempted(org.live, endpoint["id"]), message="attempt row")
            assert "redirect" in rows[0]["attempts"][-1]["error"]
            assert target.requests == []


async def _attempted(client: Any, endpoint_id: str) -> list[dict[str, Any]]:
    return [d for d in await deliveries(client, endpoint_id) if d["attempts"]]


async def test_endpoint_failing_for_five_days_is_disabled(org: OrgKeys) -> None:
    async with Receiver(lambda _r, _n: (500, b"still down")) as server:
        endpoint = await make_endpoint(org.live, server.url)
        async with org.app.state.db.session() as session:
            await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint["id"]).values(
                failing_since=dt.datetime.now(dt.UTC) - dt.timedelta(days=5, minutes=1)))
            await session.commit()
        await emit(org.app, org.id)

        async def disabled() -> dict[str, Any] | None:
            body = (await org.live.get(f"/v1/webhook_endpoints/{endpoint['id']}")).json()
            return body if body["status"] == "disabled" else None

        body = await poll_until(disabled, message="endpoint disabled after 5 days of failures")
        assert body["disabled_reason"] == "Every delivery failed for 5 days."
        # The retry that was already scheduled does not go out to a disabled endpoint.
        rows = await poll_until(lambda: _failed(org.live, endpoint["id"]), message="delivery failed")
        assert "disabled" in rows[0]["last_error"]
        assert len(server.requests) == 1


async def test_recent_failures_do_not_disable(org: OrgKeys) -> None:
    async with Receiver(lambda _r, n: (500, b"") if n == 1 else (200, b"")) as server:
        endpoint = await make_endpoint(org.live, server.url)
        await emit(org.app, org.id)
        await poll_until(lambda: _succeeded(org.live, endpoint["id"]), message="delivered on retry")
        assert (await org.live.get(f"/v1/webhook_endpoints/{endpoint['id']}")).json()["status"] == "enabled"
        async with org.app.state.db.session() as session:
            row = await session.get(WebhookEndpoint, endpoint["id"])
            assert row is not None and row.failing_since is None  # a success ends the failure run
        assert len(server.requests) == 2


async def test_a_slow_receiver_is_bounded_and_does_not_starve_others(org: OrgKeys, app: Any) -> None:
    limit = app.state.settings.webhook_max_concurrency_per_endpoint
    async with Receiver(delay=1.0) as slow, Receiver() as fast:
        await make_endpoint(org.live, slow.url, ["incident.created"])
        await make_endpoint(org.live, fast.url, ["scan.completed"])
        slow_events = [await emit(org.app, org.id, "incident.created") for _ in range(3 * limit)]
        await poll_until(lambda: slow.in_flight >= limit, message="slow receiver saturated")
        await emit(org.app, org.id, "scan.completed", obj={"id": "sc_fast", "object": "scan"})
        await poll_until(lambda: fast.requests, timeout=10, message="fast endpoint served")
        await poll_until(lambda: {json.loads(r.body)["id"] for r in slow.requests} >= set(slow_events),
                         timeout=30, message="every slow delivery")
        # The other endpoint was served while the slow one still had a backlog, which never exceeded
        # the per-endpoint concurrency limit.
        assert fast.requests[0].at < slow.requests[-1].at
        assert slow.max_in_flight <= limit
