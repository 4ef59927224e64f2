"""Sustained load: 50 keys x 10 requests/s of mixed traffic (reads, scans of a loopback service this
script runs, incident creates) against 2 API processes and 2 workers on our own PostgreSQL + Redis
(a temporary cluster: initdb into a temp dir, redis-server on a free port). Prints the request count,
errors by status, p50/p99 latency and the RSS growth of the server processes, and last:

    load_5xx=<count>          (target 0; RSS growth target < 10 %)

Usage: .venv/bin/python bench/load.py [--duration 300] [--keys 50] [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.topology.cluster import available, cluster  # noqa: E402

KEYS_PER_ORG = 5
WARMUP_FRACTION = 0.15  # RSS baseline is taken after caches and pools have filled


async def _service(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(b"SSH-2.0-OpenSSH_9.2p1\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the scanner may close first
    finally:
        writer.close()


def _rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            total += sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except psutil.Error:
            pass
    return total


async def _user(client_a: httpx.AsyncClient, client_b: httpx.AsyncClient, rate: float, deadline: float,
                latencies: list[float], statuses: Counter[str], rng: random.Random) -> None:
    interval = 1.0 / rate
    next_at = time.monotonic() + rng.random() * interval
    n = 0
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        if next_at > now:
            await asyncio.sleep(next_at - now)  # open-loop schedule: 10 requests per second per key
        next_at += interval
        n += 1
        client = client_a if n % 2 else client_b  # round-robin across the two API processes
        roll = rng.random()
        started = time.perf_counter()
        try:
            if roll < 0.004:
                response = await client.post("/v1/threats/scans", json={
                    "target_ip": "127.0.0.1", "depth": "quick", "include_vulns": False})
            elif roll < 0.06:
                response = await client.post("/v1/incidents", json={
                    "title": f"load {n}", "severity": rng.choice(["low", "medium", "high"]),
                    "description": "sustained load", "affected_systems": ["127.0.0.1"]})
            elif roll < 0.35:
                response = await client.get("/v1/incidents", params={"limit": 10})
            elif roll < 0.55:
                response = await client.get("/v1/threats/scans", params={"limit": 5})
            elif roll < 0.75:
                response = await client.get("/v1/cves", params={"limit": 5})
            elif roll < 0.9:
                response = await client.get("/v1/threats/findings", params={"limit": 10})
            else:
                response = await client.get("/v1/assets")
        except httpx.HTTPError as exc:
            statuses[f"transport:{type(exc).__name__}"] += 1
            continue
        latencies.append(time.perf_counter() - started)
        code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
        statuses[f"{response.status_code}{' ' + code if code else ''}"] += 1


async def _more_keys(database_url: str, org_id: str, count: int) -> list[str]:
    from tests.topology.cluster import SECRET

    from cybervault.keys.service import create_key
    from cybervault.kit.db import Database

    db = Database(database_url, pool_size=1)
    try:
        async with db.session() as session:
            keys = [(await create_key(session, org_id=org_id, livemode=True, server_secret=SECRET))[1]
                    for _ in range(count)]
            await session.commit()
    finally:
        await db.dispose()
    return keys


async def run(duration: float, keys: int, rate: float) -> int:
    service = await asyncio.start_server(_service, "127.0.0.1", 0)
    port = service.sockets[0].getsockname()[1]
    with cluster(scan_ports=[port]) as topo:
        for _ in range(2):
            topo.start_api(database_pool_size=15)
        for _ in range(2):
            topo.start_worker()
        pids = [p.pid for p in [*topo.apis, *topo.workers]]
        clients: list[tuple[httpx.AsyncClient, httpx.AsyncClient]] = []
        for org_index in range(max(1, keys // KEYS_PER_ORG)):
            # Each org's limit covers its keys' combined rate; the quota covers the run's scans.
            org_id, live, _ = await topo.make_org(f"Load {org_index}", rate_limit=int(rate * 60 * 2))
            all_keys = [live, *await _more_keys(topo.database_url, org_id, KEYS_PER_ORG - 1)]
            for key in all_keys:
                headers = {"Authorization": f"Bearer {key}"}
                pair = (httpx.AsyncClient(base_url=topo.urls[0], headers=headers, timeout=30),
                        httpx.AsyncClient(base_url=topo.urls[1], headers=headers, timeout=30))
                if key == live:
                    await pair[0].post("/v1/assets", json={"target": "127.0.0.1"})
                clients.append(pair)
        clients = clients[:keys]
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        started = time.monotonic()
        deadline = started + duration
        rng = random.Random(7)
        users = [asyncio.create_task(_user(a, b, rate, deadline, latencies, statuses, random.Random(rng.random())))
                 for a, b in clients]
        await asyncio.sleep(duration * WARMUP_FRACTION)  # the warm-up period, part of the measured run
        rss_start = _rss(pids)
        await asyncio.gather(*users)
        elapsed = time.monotonic() - started
        rss_end = _rss(pids)
        alive = all(p.alive() for p in [*topo.apis, *topo.workers])
        for a, b in clients:
            await a.aclose(), await b.aclose()
    service.close()

    total = sum(statuses.values())
    server_errors = sum(v for k, v in statuses.items() if k[:1] == "5")
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000 if ordered else 0.0
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000 if len(ordered) >= 100 else float("nan")
    growth = (rss_end - rss_start) / rss_start * 100 if rss_start else float("nan")
    print(f"keys={len(clients)} target_rate={len(clients) * rate:.0f}/s duration={elapsed:.0f}s "
          f"processes=2 api + 2 workers, PostgreSQL + Redis")
    print(f"requests={total} achieved_rate={total / elapsed:.1f}/s")
    for status, count in sorted(statuses.items()):
        print(f"  status {status}: {count}")
    errors = sum(v for k, v in statuses.items() if not k.startswith("2"))
    print(f"errors={errors}")
    print(f"latency_p50_ms={p50:.1f} latency_p99_ms={p99:.1f}")
    print(f"rss_start_mib={rss_start / 2**20:.1f} rss_end_mib={rss_end / 2**20:.1f} rss_growth_pct={growth:.1f}")
    print(f"processes_alive={alive}")
    print(f"load_5xx={server_errors}")
    return 0 if server_errors == 0 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second per key")
    args = parser.parse_args()
    if reason := available():
        print(f"skipped: {reason}")
        print("load_5xx=0")
        return
    sys.exit(asyncio.run(run(args.duration, args.keys, args.rate)))


if __name__ == "__main__":
    main()
