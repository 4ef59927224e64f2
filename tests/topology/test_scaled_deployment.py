"""The scaled-out deployment, locally: our own PostgreSQL and Redis, two API processes and two workers.
A scan of a loopback service, an incident and a webhook delivery go through it, with each request sent
to a different API process (as a load balancer would)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest

from tests.topology.cluster import available, cluster, poll
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.slow


async def _ssh_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    await writer.drain()
    await asyncio.sleep(0.5)
    writer.close()


@pytest.fixture
async def ssh_service() -> int:
    server = await asyncio.start_server(_ssh_like, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_scan_incident_and_webhook_through_two_apis_and_two_workers(ssh_service: int) -> None:
    if reason := available():
        pytest.skip(reason)
    async with Receiver() as receiver:
        with cluster(scan_ports=[ssh_service]) as topo:
            for _ in range(2):
                topo.start_api()
            for _ in range(2):
                topo.start_worker()
            _, live_key, _ = await topo.make_org("Topology")
            headers = {"Authorization": f"Bearer {live_key}"}
            async with httpx.AsyncClient(base_url=topo.urls[0], headers=headers, timeout=30) as a, \
                    httpx.AsyncClient(base_url=topo.urls[1], headers=headers, timeout=30) as b:
                endpoint = (await b.post("/v1/webhook_endpoints", json={
                    "url": receiver.url, "enabled_events": ["incident.*"]})).json()
                assert (await a.post("/v1/assets", json={"target": "127.0.0.1"})).status_code == 201

                scan = await a.post("/v1/threats/scans", json={"target_ip": "127.0.0.1", "depth": "quick",
                                                               "include_vulns": False})
                assert scan.status_code in (201, 202), scan.text

                async def finished() -> dict | None:
                    body = (await b.get(f"/v1/threats/scans/{scan.json()['id']}")).json()
                    return body if body["status"] in ("completed", "failed", "canceled") else None

                done = await poll(finished, timeout=60, message="scan run by a worker")
                assert done["status"] == "completed", done
                ports = [f["port"] for f in done["findings"] if f["type"] == "open_port"]
                assert ports == [ssh_service]

                incident = await b.post("/v1/incidents", json={
                    "title": "Exposed SSH", "severity": "high", "description": "Found by the topology test."})
                assert incident.status_code == 201

                def delivered() -> list:
                    return [r for r in receiver.requests
                            if json.loads(r.body).get("type") == "incident.created"]

                requests = await poll(delivered, timeout=60, message="webhook delivery by a worker")
                event = json.loads(requests[0].body)
                assert event["data"]["object"]["id"] == incident.json()["id"]
                secret = (await a.get(f"/v1/webhook_endpoints/{endpoint['id']}/secret")).json()["secret"]
                signature = requests[0].headers.get("x-cybervault-signature", "")
                expected = hmac.new(secret.encode(), requests[0].body, hashlib.sha256).hexdigest()
                assert hmac.compare_digest(expected, signature), requests[0].headers
            # Both API processes and both workers are still up.
            assert all(p.alive() for p in [*topo.apis, *topo.workers])
