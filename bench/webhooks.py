"""Webhook delivery benchmark: events -> `cybervault worker` processes -> a local HTTP receiver.

PostgreSQL + Redis, 2 worker subprocesses, 10 endpoints (one per organization, subscribed to "*"),
10,000 events produced at a steady rate (default 1,000/s: twice the 500/s target, so that the figure shows
what the workers sustain rather than the production rate) and round-robined over the organizations, so
10,000 signed deliveries. `--fanout` instead puts the 10 endpoints in one organization (every event
goes to all of them). Prints deliveries/s and event-to-delivery latency (event row created -> request
received) p50/p99; the last line is `webhook_p99_ms=<p99>`.

    .venv/bin/python bench/webhooks.py [--events 10000] [--endpoints 10] [--rate 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

PG_ADMIN = os.environ.get("CYBERVAULT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CYBERVAULT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ENCRYPTION_KEY = "bench-encryption-key-0000000000000000000"


class Receiver:
    """Minimal keep-alive HTTP/1.1 server recording when each webhook-id first arrives."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.requests = 0
        self.port = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.time()
                length, msg_id = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value)
                    elif lowered == b"webhook-id":
                        msg_id = value.strip().decode()
                await reader.readexactly(length)
                self.requests += 1
                self.first_seen.setdefault(msg_id, now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def wait_for_consumers(broker: Any, count: int, timeout: float = 60.0) -> None:
    """Until every worker reads from the stream: on a busy 2-core machine starting a worker (imports, pools)
    can take longer than a fixed pause, and events produced before then would measure start-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(await broker.redis.xinfo_consumers(broker.stream, broker.GROUP)) >= count:
                return
        except Exception:  # noqa: BLE001 (the group does not exist until the first worker creates it)
            pass
        await asyncio.sleep(0.1)
    print(f"warning: fewer than {count} workers reading after {timeout:.0f}s", file=sys.stderr)


async def wait_for_idle_jobs(db: Any, timeout: float = 60.0) -> None:
    """Until the periodic jobs a worker enqueues at start (compliance sweep and evaluations, schedules,
    pruning) have run: in production they run once an hour at any moment, here they would always land
    on the first seconds of the measurement."""
    from sqlalchemy import func, select

    from cybervault.jobs.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with db.session() as session:
            busy = await session.scalar(select(func.count()).select_from(Job)
                                        .where(Job.status.in_(("queued", "running"))))
        if not busy:
            return
        await asyncio.sleep(0.2)
    print(f"warning: start-up jobs still running after {timeout:.0f}s", file=sys.stderr)


def worker_env(database_url: str, prefix: str, concurrency: int) -> dict[str, str]:
    return {**os.environ, "CYBERVAULT_ENV": "test", "CYBERVAULT_DATABASE_URL": database_url,
            "CYBERVAULT_REDIS_URL": REDIS_URL, "CYBERVAULT_REDIS_PREFIX": prefix,
            "CYBERVAULT_ENCRYPTION_KEY": ENCRYPTION_KEY, "CYBERVAULT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "CYBERVAULT_WORKER_CONCURRENCY": str(concurrency), "CYBERVAULT_LOG_LEVEL": "error",
            "CYBERVAULT_DATABASE_POOL_SIZE": str(concurrency + 4)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000.0, help="events produced per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8, help="jobs per worker at once")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database for inspection")
    parser.add_argument("--fanout", action="store_true", help="all endpoints in one org: each event to all")
    parser.add_argument("--per-commit", type=int, default=0,
                        help="events per producer transaction (default rate/20; 1 = one event per request)")
    parser.add_argument("--timeline", action="store_true", help="also print latency per 2 s of production")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from cybervault.events.models import Event
    from cybervault.events.service import record_event
    from cybervault.jobs.broker import RedisStreamBroker, set_broker
    from cybervault.kit.db import Database, utcnow
    from cybervault.kit.migrate import upgrade_database
    from cybervault.orgs.service import create_org
    from cybervault.webhooks.crypto import encrypt_text
    from cybervault.webhooks.models import Delivery, WebhookEndpoint
    from cybervault.webhooks.signing import generate_secret

    name = f"cv_bench_webhooks_{secrets.token_hex(3)}"
    database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    prefix = f"cvbench:{name}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    db = Database(database_url, pool_size=8)
    broker = RedisStreamBroker(REDIS_URL, prefix)
    set_broker(broker)
    receiver = Receiver()
    await receiver.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        await upgrade_database(db)
        orgs: list[str] = []
        async with db.session() as session:
            now = utcnow()
            shared = None
            for i in range(args.endpoints):
                if shared is None or not args.fanout:
                    shared = (await create_org(session, f"bench org {i}")).id
                    orgs.append(shared)
                session.add(WebhookEndpoint(
                    id=f"we_bench{i:04d}", org_id=shared, livemode=True,
                    url=f"http://127.0.0.1:{receiver.port}/hook/{i}", enabled_events=["*"], status="enabled",
                    secret_encrypted=encrypt_text(ENCRYPTION_KEY, generate_secret()), created_at=now,
                    updated_at=now))
            await session.commit()
        expected = args.events * (args.endpoints if args.fanout else 1)

        command = [str(Path(sys.executable).parent / "cybervault"), "worker"]
        env = worker_env(database_url, prefix, args.concurrency)
        workers = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(args.workers)]
        await wait_for_consumers(broker, args.workers)
        await wait_for_idle_jobs(db)

        batch = args.per_commit or max(1, int(args.rate / 20))
        print(f"producing {args.events} events at {args.rate:.0f}/s to {args.endpoints} endpoints "
              f"({'fan-out' if args.fanout else 'one endpoint per event'}), {args.workers} workers x "
              f"{args.concurrency}, {batch} events per producer transaction", flush=True)
        started = time.monotonic()
        produced = 0
        while produced < args.events:
            async with db.session() as session:
                for _ in range(min(batch, args.events - produced)):
                    record_event(session, org_id=orgs[produced % len(orgs)], livemode=True, type="incident.created",
                                 obj={"id": f"inc_{produced}", "object": "incident", "title": "bench"})
                    produced += 1
                await session.commit()
            lag = started + produced / args.rate - time.monotonic()
            if lag > 0:
                await asyncio.sleep(lag)
        produce_seconds = time.monotonic() - started
        deadline = time.monotonic() + 300
        while receiver.requests < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

        async with db.session() as session:
            created = dict((await session.execute(select(Event.id, Event.created_at))).all())
            succeeded = await session.scalar(select(func.count()).select_from(Delivery)
                                             .where(Delivery.status == "succeeded"))
        latencies = sorted((receiver.first_seen[i] - created[i].timestamp()) * 1000
                           for i in created if i in receiver.first_seen)
        first = min(c.timestamp() for c in created.values())
        last = max(receiver.first_seen.values())
        rate = receiver.requests / (last - first)
        if args.timeline:
            windows: dict[int, list[float]] = {}
            for i, c in created.items():
                if i in receiver.first_seen:
                    windows.setdefault(int((c.timestamp() - first) // 2), []).append(
                        (receiver.first_seen[i] - c.timestamp()) * 1000)
            for window, values in sorted(windows.items()):
                values.sort()
                mid, tail = statistics.median(values), values[int(len(values) * 0.99) - 1]
                print(f"  events created {window * 2:3d}-{window * 2 + 2:3d}s: p50 {mid:6.0f} ms, "
                      f"p99 {tail:6.0f} ms, max {values[-1]:6.0f} ms")
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"events produced: {args.events} in {produce_seconds:.1f}s; requests received: {receiver.requests} "
              f"(expected {expected}); delivery rows succeeded: {succeeded}")
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = sum(sum(int(x) for x in Path(f"/proc/{w.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
                  for w in workers if w.poll() is None) / ticks
        print(f"worker CPU: {cpu:.1f}s in total, {cpu / max(1, receiver.requests) * 1000:.1f} ms per delivery")
        print(f"deliveries_per_second={rate:.0f}")
        print(f"event_to_delivery_p50_ms={p50:.0f}")
        print(f"webhook_p99_ms={p99:.0f}")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        if not args.keep:
            await broker.redis.delete(broker.stream)
        await broker.close()
        await db.dispose()
        if args.keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            try:
                await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop {name}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
