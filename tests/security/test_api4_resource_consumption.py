"""API4 Unrestricted Resource Consumption: per-key rate limit, body size, JSON depth, CIDR size, page
size, concurrent scans per org, and slow clients that must not starve everyone else."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest

from tests.helpers import LiveServer, OrgKeys, make_org


async def test_rate_limit_per_key_with_retry_after(app: Any) -> None:
    org = await make_org(app, "Limited", rate_limit=5)
    statuses = [(await org.live.get("/v1/incidents")).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = await org.live.get("/v1/incidents")
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-ratelimit-remaining"] == "0"
    # The other mode's key has its own budget.
    assert (await org.test.get("/v1/incidents")).status_code == 200
    await org.live.aclose(), await org.test.aclose()


async def test_body_over_one_mebibyte_is_413(org: OrgKeys) -> None:
    big = {"title": "t", "severity": "low", "description": "x" * (1_048_576 + 10)}
    response = await org.live.post("/v1/incidents", json=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    # Chunked upload without Content-Length is counted as it streams.
    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536
    response = await org.live.post("/v1/incidents", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
async def test_deeply_nested_json_is_refused_cleanly(org: OrgKeys, depth: int) -> None:
    body = "[" * depth + "]" * depth
    response = await org.live.post("/v1/incidents", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413), response.status_code
    assert response.json()["error"]["code"] in ("invalid_request", "payload_too_large")


@pytest.mark.parametrize("target", ["10.0.0.0/8", "127.0.0.0/8", "::/64", "0.0.0.0/0"])
async def test_huge_scan_ranges_are_refused(org: OrgKeys, target: str) -> None:
    response = await org.test.post("/v1/threats/scans", json={"target_ip": target})
    assert response.status_code in (400, 403), response.text
    assert response.json()["error"]["code"] in ("target_too_large", "target_out_of_scope")


@pytest.mark.parametrize("limit", ["101", "1000000", "-1", "0", "abc"])
async def test_page_size_is_capped(org: OrgKeys, limit: str) -> None:
    for path in ("/v1/incidents", "/v1/cves", "/v1/events", "/v1/audit_logs", "/v1/threats/findings"):
        response = await org.live.get(path, params={"limit": limit})
        assert response.status_code == 400, (path, limit)
        assert response.json()["error"]["param"] == "limit"


async def test_concurrent_scans_per_org_are_capped(make_app: Any) -> None:
    limited = await make_app(scan_max_concurrent_per_org=2, run_jobs_in_process=False)
    org = await make_org(limited, "Scan cap")
    assert (await org.live.post("/v1/assets", json={"target": "127.0.0.1"})).status_code == 201
    responses = await asyncio.gather(*[org.live.post("/v1/threats/scans", json={"target_ip": "127.0.0.1",
                                                                                "depth": "quick"})
                                       for _ in range(6)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 201, 429, 429, 429, 429] or statuses == [202, 202, 429, 429, 429, 429], statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "scan_limit_exceeded"
    assert int(refused.headers["retry-after"]) >= 1
    # Cancel them so nothing runs later on the shared database.
    for r in responses:
        if r.status_code < 300:
            await org.live.post(f"/v1/threats/scans/{r.json()['id']}/cancel")
    await org.live.aclose(), await org.test.aclose()


@pytest.mark.slow
async def test_slow_clients_do_not_starve_others(live_server: LiveServer, app: Any) -> None:
    org = await make_org(app, "Slowloris")
    sockets: list[socket.socket] = []
    try:
        for _ in range(40):  # connections that send half a request and stall
            sock = socket.create_connection(("127.0.0.1", live_server.port), timeout=5)
            sock.sendall(b"POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + org.live_key.encode()
                         + b"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            sockets.append(sock)
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10,
                                     headers={"Authorization": f"Bearer {org.live_key}"}) as client:
            for _ in range(5):
                assert (await client.get("/v1/incidents", params={"limit": 1})).status_code == 200
        assert time.monotonic() - started < 5, "stalled uploads slowed down other clients"
    finally:
        for sock in sockets:
            sock.close()
        await org.live.aclose(), await org.test.aclose()
