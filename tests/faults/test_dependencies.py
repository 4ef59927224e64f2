"""Fault injection on a private deployment (our own PostgreSQL and Redis, never the shared ones):
PostgreSQL restarted under traffic, Redis stopped (rate limits fail closed by default, open when set;
jobs resume when Redis returns, nothing lost), and an API process killed during a scan request."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.topology.cluster import available, cluster, poll
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _needs_binaries() -> None:
    if reason := available():
        pytest.skip(reason)


async def _traffic(client: httpx.AsyncClient, stop: asyncio.Event, seen: Counter[str]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        try:
            if n % 3:
                response = await client.get("/v1/incidents", params={"limit": 5})
            else:
                response = await client.post("/v1/incidents", json={
                    "title": f"fault {n}", "severity": "low", "description": "traffic during a fault"})
        except httpx.HTTPError as exc:
            seen[f"transport:{type(exc).__name__}"] += 1
            continue
        code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
        seen[f"{response.status_code}{':' + code if code else ''}"] += 1
        await asyncio.sleep(0.02)  # pacing of the synthetic client, not a wait for work


async def test_postgres_restart_under_traffic_gives_503_then_recovers() -> None:
    with cluster() as topo:
        topo.start_api()
        _, key, _ = await topo.make_org("PG restart")
        async with httpx.AsyncClient(base_url=topo.urls[0], timeout=30,
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            stop, before, during, after = asyncio.Event(), Counter[str](), Counter[str](), Counter[str]()
            task = asyncio.create_task(_traffic(client, stop, before))
            await poll(lambda: before["200"] >= 10 and before["201"] >= 5, message="steady traffic")
            stop.set(), await task

            stop = asyncio.Event()
            task = asyncio.create_task(_traffic(client, stop, during))
            await asyncio.to_thread(topo.pg.stop, "fast")
            await poll(lambda: during["503:service_unavailable"] >= 10, message="503s while PostgreSQL is down")
            await asyncio.to_thread(topo.pg.start)
            await poll(lambda: during["200"] + during["201"] >= 20, timeout=60,
                       message="recovery without a restart of the API")
            stop.set(), await task

            stop = asyncio.Event()
            task = asyncio.create_task(_traffic(client, stop, after))
            await poll(lambda: after["200"] >= 10 and after["201"] >= 5, message="traffic after recovery")
            stop.set(), await task
        log = topo.apis[0].output()
        failures = {k: v for k, v in (before + during + after).items()
                    if k not in ("200", "201", "503:service_unavailable")}
        assert failures == {}, f"only 503 service_unavailable is allowed during the outage: {failures}\n{log}"
        assert after == Counter({k: v for k, v in after.items() if k in ("200", "201")})
        assert topo.apis[0].alive()


async def test_redis_down_rate_limits_fail_closed_by_default_and_open_when_set() -> None:
    with cluster() as topo:
        closed = topo.start_api()
        opened = topo.start_api(rate_limit_fail_open="true")
        _, key, _ = await topo.make_org("Redis down")
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=topo.urls[0], headers=headers, timeout=30) as strict, \
                httpx.AsyncClient(base_url=topo.urls[1], headers=headers, timeout=30) as lenient:
            assert (await strict.get("/v1/incidents")).status_code == 200
            topo.redis.stop()
            response = await strict.get("/v1/incidents")
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "service_unavailable"
            assert (await lenient.get("/v1/incidents")).status_code == 200
            topo.redis.start()
            await poll(lambda: _ok(strict), timeout=30, message="fail-closed API serving again")
        assert closed.alive() and opened.alive()


async def _ok(client: httpx.AsyncClient) -> bool:
    return (await client.get("/v1/incidents")).status_code == 200


async def test_jobs_created_while_redis_is_down_run_when_it_returns() -> None:
    async with Receiver() as receiver:
        with cluster() as topo:
            topo.start_api(rate_limit_fail_open="true")
            topo.start_worker()
            _, key, _ = await topo.make_org("Redis jobs")
            async with httpx.AsyncClient(base_url=topo.urls[0], timeout=30,
                                         headers={"Authorization": f"Bearer {key}"}) as client:
                created = await client.post("/v1/webhook_endpoints", json={"url": receiver.url,
                                                                         "enabled_events": ["incident.created"]})
                assert created.status_code == 201
                topo.redis.stop()
                ids = []
                for n in range(5):
                    response = await client.post("/v1/incidents", json={
                        "title": f"while redis is down {n}", "severity": "low", "description": "d"})
                    assert response.status_code == 201, response.text
                    ids.append(response.json()["id"])
                topo.redis.start()  # a fresh, empty Redis: the jobs table is the source of truth

                def delivered() -> bool:
                    import json
                    got = {json.loads(r.body)["data"]["object"]["id"] for r in receiver.requests}
                    return set(ids) <= got

                await poll(delivered, timeout=90, message="every event delivered after Redis returned")
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{topo.pg.port}/{topo.database}")
            try:
                # Everything the incidents caused runs to the end (periodic housekeeping aside): nothing lost.
                query = ("SELECT kind, status FROM jobs WHERE status NOT IN ('succeeded', 'failed')"
                         " AND dedupe_key IS NULL")
                await poll(lambda: _none(conn, query), timeout=90, message="every job finished")
                stuck = await conn.fetch(query)
            finally:
                await conn.close()
            assert [dict(r) for r in stuck] == []


async def _none(conn: asyncpg.Connection, query: str) -> bool:
    return not await conn.fetch(query)


async def _slow_service(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3)  # a service that is slow to answer keeps the scan running for a while
    writer.write(b"SSH-2.0-OpenSSH_9.2p1\r\n")
    await writer.drain()
    writer.close()


async def test_api_killed_during_a_scan_request_leaves_no_orphans() -> None:
    server = await asyncio.start_server(_slow_service, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with cluster(scan_ports=[port]) as topo:
            victim = topo.start_api()
            topo.start_api()
            topo.start_worker()
            org_id, key, _ = await topo.make_org("Kill API")
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=topo.urls[0], headers=headers, timeout=30) as a, \
                    httpx.AsyncClient(base_url=topo.urls[1], headers=headers, timeout=30) as b:
                assert (await a.post("/v1/assets", json={"target": "127.0.0.1"})).status_code == 201
                requests = [asyncio.create_task(a.get("/v1/threats/scan", params={
                    "target_ip": "127.0.0.1", "depth": "quick", "include_vulns": "false", "wait": 30}))
                    for _ in range(2)]
                conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{topo.pg.port}/{topo.database}")
                try:
                    await poll(lambda: conn.fetchval("SELECT count(*) FROM scans WHERE org_id = $1", org_id),
                               message="scan rows committed")
                    victim.stop(signal.SIGKILL)  # mid-request: the clients are still waiting
                    for request in requests:
                        with pytest.raises(httpx.HTTPError):
                            await request

                    async def settled() -> bool:
                        # The worker ends the scan, then records its job's outcome: wait for both.
                        rows = await conn.fetch("SELECT s.status, s.job_id, j.status AS job_status FROM scans s "
                                                "LEFT JOIN jobs j ON j.id = s.job_id WHERE s.org_id = $1", org_id)
                        return bool(rows) and all(r["status"] in ("completed", "failed", "canceled")
                                                  and r["job_status"] != "running" for r in rows)

                    await poll(settled, timeout=90, message="every scan finished by the surviving worker")
                    rows = await conn.fetch("SELECT s.status, s.job_id, j.status AS job_status FROM scans s "
                                            "LEFT JOIN jobs j ON j.id = s.job_id WHERE s.org_id = $1", org_id)
                finally:
                    await conn.close()
                assert rows and all(r["job_id"] and r["job_status"] == "succeeded" for r in rows), rows
                assert all(r["status"] == "completed" for r in rows), rows
                listing = (await b.get("/v1/threats/scans")).json()["data"]
                assert {s["status"] for s in listing} == {"completed"}
    finally:
        server.close()
