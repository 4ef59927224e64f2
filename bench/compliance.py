"""Compliance posture latency on PostgreSQL at scale.

Builds a throw-away database with one org holding 10,000 assets, 100,000 findings and 10,000 incidents,
then times GET /v1/compliance/posture end to end through the app (gateway, auth, evaluation of every
control, JSON). Prints p50/p99 and, last, `posture_p99_ms=`. Target: < 500 ms.

    .venv/bin/python bench/compliance.py [--requests 60] [--admin-dsn postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

ASSETS, FINDINGS, INCIDENTS = 10_000, 100_000, 10_000


async def _admin(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _rows_assets(org_id: str, now: dt.datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(ASSETS):
        scanned = now - dt.timedelta(days=rng.randint(0, 45)) if rng.random() < 0.9 else None
        rows.append({
            "id": f"ast_{i:024x}", "org_id": org_id, "livemode": True,
            "target": f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}", "kind": "ip", "name": f"host-{i}",
            "tags": ["bench"], "criticality": rng.choice(["low", "medium", "high", "critical"]),
            "environment": "production", "owner": f"team-{i % 20}" if rng.random() < 0.95 else None,
            "last_scanned_at": scanned, "created_at": now, "updated_at": now,
        })
    return rows


def _rows_findings(org_id: str, now: dt.datetime, rng: random.Random) -> list[dict[str, Any]]:
    types = ["open_port"] * 6 + ["vulnerable_service"] * 2 + ["weak_tls", "certificate_problem", "cleartext_protocol",
                                                             "unauthenticated_service"]
    ports = [22, 80, 443, 8080, 3306, 5432, 6379, 23, 21, 8443]
    rows = []
    for i in range(FINDINGS):
        asset = i % ASSETS
        public = asset % 50 == 0  # 2 % of hosts carry a public address (documentation range)
        host = f"203.0.113.{asset % 256}" if public else f"10.{asset // 65536}.{(asset // 256) % 256}.{asset % 256}"
        kind = rng.choice(types)
        first = now - dt.timedelta(days=rng.randint(0, 120))
        rows.append({
            "id": f"fnd_{i:024x}", "org_id": org_id, "livemode": True, "fingerprint": f"{i:064x}", "type": kind,
            "severity": rng.choice(["low", "medium", "medium", "high", "critical"]), "details": "bench finding",
            "cve": "CVE-2021-41773" if kind == "vulnerable_service" else None, "host": host, "port": rng.choice(ports),
            "protocol": "tcp", "service": None, "cvss": None,
            "kev": kind == "vulnerable_service" and rng.random() < 0.1,
            "epss": None, "confidence": "confirmed", "first_seen": first, "last_seen": now,
            "status": "open" if rng.random() < 0.6 else "resolved", "status_reason": None, "scan_id": None,
            "created_at": first, "updated_at": now,
        })
    return rows


def _rows_incidents(org_id: str, now: dt.datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(INCIDENTS):
        created = now - dt.timedelta(hours=rng.randint(0, 24 * 180))
        priority = rng.choice(["P1", "P2", "P3", "P4"])
        resolved = created + dt.timedelta(hours=rng.randint(1, 96)) if rng.random() < 0.8 else None
        breach = rng.random() < 0.02
        rows.append({
            "id": f"inc_{i:024x}", "org_id": org_id, "livemode": True, "title": f"Incident {i}", "description": "bench",
            "severity": rng.choice(["low", "medium", "high", "critical"]), "status": "resolved" if resolved else "open",
            "priority": priority, "priority_score": 50, "affected_systems": [], "tags": [], "external_id": None,
            "assignee": None, "team": None, "triage": {}, "likely_duplicate_of": None, "detected_at": created,
            "acknowledge_by": created + dt.timedelta(hours=1), "resolve_by": created + dt.timedelta(hours=48),
            "acknowledged_at": created + dt.timedelta(minutes=rng.randint(5, 120)), "resolved_at": resolved,
            "closed_at": None, "acknowledge_breached_at": None, "resolve_breached_at": None,
            "personal_data_breach": breach, "notify_authority_by": created + dt.timedelta(hours=72) if breach else None,
            "authority_notified_at": created + dt.timedelta(hours=rng.randint(1, 90)) if breach else None,
            "root_cause": None, "lessons_learned": "written" if rng.random() < 0.7 else None, "rule_channels": [],
            "created_at": created, "updated_at": now,
        })
    return rows


async def _load(db: Any, org_id: str) -> None:
    """Bulk-load with COPY (asyncpg) so building the data set takes seconds, not minutes."""
    import json

    from sqlalchemy.dialects.postgresql import JSONB

    from cybervault.assets.models import Asset
    from cybervault.incidents.models import Incident
    from cybervault.scans.models import Finding

    rng = random.Random(7)  # noqa: S311 - reproducible data, not security
    now = dt.datetime.now(dt.UTC)
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for model, rows in ((Asset, _rows_assets(org_id, now, rng)), (Finding, _rows_findings(org_id, now, rng)),
                            (Incident, _rows_incidents(org_id, now, rng))):
            started = time.perf_counter()
            columns = list(rows[0])
            json_cols = {c.name for c in model.__table__.columns
                         if isinstance(c.type.dialect_impl(conn.dialect), JSONB)}
            records = [tuple(json.dumps(r[c]) if c in json_cols and r[c] is not None else r[c] for c in columns)
                       for r in rows]
            await raw.copy_records_to_table(model.__tablename__, records=records, columns=columns)
            print(f"loaded {len(rows):>7} {model.__tablename__} in {time.perf_counter() - started:.1f} s")
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its name) for profiling")
    parser.add_argument("--admin-dsn", default=os.environ.get("CYBERVAULT_TEST_PG_ADMIN",
                                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    import httpx

    from cybervault.app import create_app
    from cybervault.config import Settings
    from cybervault.keys.service import create_key
    from cybervault.orgs.service import create_org

    name = f"cv_bench_compliance_{os.getpid()}_{secrets.token_hex(3)}"
    await _admin(args.admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        settings = Settings(
            env="test", database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", redis_url=None,
            secret_key="bench-secret-key-000000000000000000", encryption_key="bench-encryption-key-0000000000000",
            log_level="warning", rate_limit_per_minute=1_000_000, run_jobs_in_process=False,
        )
        app = create_app(settings, migrate=True)
        async with app.router.lifespan_context(app):
            db = app.state.db
            async with db.session() as session:
                org = await create_org(session, "Bench org")
                _, key = await create_key(session, org_id=org.id, livemode=True,
                                          server_secret=settings.secret_key.get_secret_value())
                await session.commit()
            await _load(db, org.id)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                first = await client.get("/v1/compliance/posture")
                first.raise_for_status()
                body = first.json()
                print("scores:", {f["id"]: f["score"] for f in body["frameworks"]},
                      f"gaps={len(body['gaps'])} bytes={len(first.content)}")
                for _ in range(3):  # warm-up
                    (await client.get("/v1/compliance/posture")).raise_for_status()
                timings = []
                for _ in range(args.requests if not args.keep else 2):
                    started = time.perf_counter()
                    r = await client.get("/v1/compliance/posture")
                    timings.append((time.perf_counter() - started) * 1000)
                    r.raise_for_status()
        timings.sort()
        p50 = statistics.median(timings)
        p99 = timings[min(len(timings) - 1, int(round(0.99 * (len(timings) - 1))))]
        print(f"requests={len(timings)} posture_p50_ms={p50:.1f} max_ms={timings[-1]:.1f}")
        print(f"posture_p99_ms={p99:.1f}")
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            await _admin(args.admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
