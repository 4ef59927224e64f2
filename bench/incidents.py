"""Incident creation under load: an org with 10,000 assets, 100,000 findings and 10,000 incidents on PostgreSQL.

Each create runs the full inline triage (asset match, open findings, CVE facts, duplicate search, rules, SLA)
and queues channel deliveries. The data set is bulk-loaded with COPY into a temporary database made for
this run and dropped afterwards. Prints sequential latency percentiles, concurrent throughput, and last
`incident_create_p99_ms=`.

    .venv/bin/python bench/incidents.py [--creates 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from cybervault.app import create_app  # noqa: E402
from cybervault.config import Settings  # noqa: E402
from cybervault.kit.ids import new_id  # noqa: E402

PG_ADMIN = os.environ.get("CYBERVAULT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
ASSETS, FINDINGS_PER_ASSET, INCIDENTS = 10_000, 10, 10_000
KEV_CVES = ["CVE-2017-5638", "CVE-2014-0160", "CVE-2021-41773", "CVE-2019-11510"]
SEVERITIES = ("low", "medium", "high", "critical")
CRITICALITY = ("low", "medium", "high", "critical")
WORDS = ("ssh", "brute", "force", "phishing", "malware", "beacon", "exfiltration", "ransomware", "webshell",
         "credential", "stuffing", "lateral", "movement", "exposed", "bucket", "struts", "exploit", "vpn")


def asset_ip(i: int) -> str:
    return f"10.{(i // 62_500) % 256}.{(i // 250) % 250}.{i % 250 + 1}"


def title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(4)).capitalize()


async def load(dsn: str, org_id: str) -> None:
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(dsn)
    try:
        assets = []
        for i in range(ASSETS):
            kind, target = ("hostname", f"host{i}.corp.example") if i % 10 == 9 else ("ip", asset_ip(i))
            tags = json.dumps(["prod"] if i % 3 else ["pci"])
            assets.append((new_id("ast"), org_id, True, target, kind, target, tags, CRITICALITY[i % 4], None, None,
                           None, now, now))
        await conn.copy_records_to_table("assets", records=assets, columns=[
            "id", "org_id", "livemode", "target", "kind", "name", "tags", "criticality", "environment", "owner",
            "last_scanned_at", "created_at", "updated_at"])
        findings = []
        for index, asset in enumerate(assets):
            for j in range(FINDINGS_PER_ASSET):
                kev = (index + j) % 40 == 0
                cve = rng.choice(KEV_CVES) if kev else None
                fid = new_id("fnd")
                findings.append((fid, org_id, True, fid[4:], "vulnerable_service" if cve else "open_port",
                                 rng.choice(SEVERITIES), "bench finding", cve, asset[3], 1000 + j, "tcp", None,
                                 9.8 if cve else None, kev, None, "confirmed", now, now,
                                 "open" if j % 4 else "resolved", None, None, now, now))
        await conn.copy_records_to_table("findings", records=findings, columns=[
            "id", "org_id", "livemode", "fingerprint", "type", "severity", "details", "cve", "host", "port",
            "protocol", "service", "cvss", "kev", "epss", "confidence", "first_seen", "last_seen", "status",
            "status_reason", "scan_id", "created_at", "updated_at"])
        incidents, keys = [], []
        for n in range(INCIDENTS):
            created = now - dt.timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            systems = [assets[rng.randrange(ASSETS)][3] for _ in range(2)]
            inc_id = new_id("inc")
            status = rng.choice(("open", "triaged", "investigating", "resolved", "closed"))
            sla = {"P1": 15, "P2": 60, "P3": 240, "P4": 1440}
            priority = rng.choice(tuple(sla))
            incidents.append((inc_id, org_id, True, title(rng), "bench incident", rng.choice(SEVERITIES), status,
                               priority, 40, json.dumps(systems), json.dumps([]), f"ext-{n}", None, None,
                               json.dumps({}), None, created, created + dt.timedelta(minutes=sla[priority]),
                               created + dt.timedelta(days=3), None, None, None, now, now, False, None, None, None,
                               None, json.dumps([]), created, created))
            keys += [(inc_id, org_id, True, f"sys:{s}", created) for s in dict.fromkeys(systems)]
        await conn.copy_records_to_table("incidents", records=incidents, columns=[
            "id", "org_id", "livemode", "title", "description", "severity", "status", "priority", "priority_score",
            "affected_systems", "tags", "external_id", "assignee", "team", "triage", "likely_duplicate_of",
            "detected_at", "acknowledge_by", "resolve_by", "acknowledged_at", "resolved_at", "closed_at",
            "acknowledge_breached_at", "resolve_breached_at", "personal_data_breach", "notify_authority_by",
            "authority_notified_at", "root_cause", "lessons_learned", "rule_channels", "created_at", "updated_at"])
        await conn.copy_records_to_table("incident_keys", records=keys, columns=[
            "incident_id", "org_id", "livemode", "value", "created_at"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def receiver() -> tuple[asyncio.Server, list[int]]:
    hits: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                await reader.readexactly(length)
                hits.append(1)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0), hits


def body(rng: random.Random) -> dict[str, Any]:
    systems = [asset_ip(rng.randrange(ASSETS)) for _ in range(rng.randint(1, 4))] + ["unknown.example"]
    text = "Exploit attempt " + (f"for {rng.choice(KEV_CVES)}" if rng.random() < 0.3 else "observed")
    return {"title": title(rng), "severity": rng.choice(SEVERITIES), "description": text,
            "affected_systems": systems, "tags": ["bench"]}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--jobs-in-process", action="store_true",
                        help="also run deliveries in this process (embedded mode) instead of leaving them queued")
    args = parser.parse_args()
    name = f"cv_bench_inc_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        await run(dsn, args)
    finally:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(dsn: str, args: argparse.Namespace) -> None:
    settings = Settings(env="test", database_url=dsn.replace("postgresql://", "postgresql+asyncpg://"),
                        redis_url=None, run_jobs_in_process=args.jobs_in_process, log_level="error",
                        database_pool_size=4,
                        rate_limit_per_minute=10_000_000, webhook_allowed_networks=["127.0.0.0/8"],
                        secret_key="bench-secret-key-0000000000000000000",
                        encryption_key="bench-encryption-000000000000000000")
    app = create_app(settings, migrate=True)
    server, hits = await receiver()
    port = server.sockets[0].getsockname()[1]
    async with app.router.lifespan_context(app):
        from cybervault.keys.service import create_key
        from cybervault.orgs.service import create_org

        async with app.state.db.session() as session:
            org = await create_org(session, "Bench org")
            _, key = await create_key(session, org_id=org.id, livemode=True,
                                      server_secret=settings.secret_key.get_secret_value())
            await session.commit()
        started = time.perf_counter()
        await load(dsn, org.id)
        print(f"loaded {ASSETS} assets, {ASSETS * FINDINGS_PER_ASSET} findings, {INCIDENTS} incidents "
              f"in {time.perf_counter() - started:.1f}s")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            channel = await client.post("/v1/notification_channels", json={
                "type": "slack", "url": f"http://127.0.0.1:{port}/hook"})
            assert channel.status_code == 201, channel.text
            await client.post("/v1/triage_rules", json={"conditions": {"asset_tags": ["pci"]},
                                                        "actions": {"team": "pci", "priority": "P1"}})
            rng = random.Random(11)
            for _ in range(20):  # warm-up: connection pool, caches
                assert (await client.post("/v1/incidents", json=body(rng))).status_code == 201
            probe = (await client.post("/v1/incidents", json=body(rng))).json()["id"]
            reads = []
            read_cpu0 = time.process_time()
            for _ in range(100):
                t0 = time.perf_counter()
                await client.get(f"/v1/incidents/{probe}")
                reads.append((time.perf_counter() - t0) * 1000)
            read_cpu = (time.process_time() - read_cpu0) * 10  # ms per read over 100 reads
            print(f"reference: GET one incident p50 {statistics.median(reads):.1f} ms, p99 {pct(reads, 0.99):.1f} ms, "
                  f"{read_cpu:.1f} ms of API-process CPU per read")
            latencies: list[float] = []
            cpu0 = time.process_time()
            for _ in range(args.creates):
                t0 = time.perf_counter()
                response = await client.post("/v1/incidents", json=body(rng))
                latencies.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 201, response.text
            cpu_ms = (time.process_time() - cpu0) * 1000 / args.creates
            sample = response.json()["triage"]
            print(f"sequential creates: {len(latencies)}, p50 {statistics.median(latencies):.1f} ms, "
                  f"p95 {pct(latencies, 0.95):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms "
                  f"(last triage: {len(sample['assets'])} assets, {len(sample['findings'])} findings, "
                  f"{len(sample['related_incidents'])} related; {cpu_ms:.1f} ms of API-process CPU per create)")

            per_worker = max(1, args.creates // args.concurrency)

            async def worker(seed: int) -> list[float]:
                local = random.Random(seed)
                out = []
                for _ in range(per_worker):
                    t0 = time.perf_counter()
                    r = await client.post("/v1/incidents", json=body(local))
                    out.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 201, r.text
                return out

            t0 = time.perf_counter()
            results = await asyncio.gather(*(worker(s) for s in range(args.concurrency)))
            elapsed = time.perf_counter() - t0
            concurrent = [x for r in results for x in r]
            print(f"concurrent creates ({args.concurrency} clients): {len(concurrent) / elapsed:.1f} incidents/s, "
                  f"p99 {pct(concurrent, 0.99):.1f} ms")
            if args.jobs_in_process:
                print(f"channel deliveries received so far: {len(hits)}")
            else:
                print("channel deliveries were queued for workers (run with --jobs-in-process to send them here)")
    server.close()
    print(f"incident_create_p99_ms={pct(latencies, 0.99):.1f}")


if __name__ == "__main__":
    asyncio.run(main())
