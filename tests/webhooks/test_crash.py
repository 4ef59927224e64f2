"""A `cybervault worker` killed with SIGKILL in the middle of deliveries loses none of them.

Real topology: PostgreSQL + Redis, worker subprocesses, a local receiver. Duplicates are allowed
(at-least-once); a missing event is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cybervault.events.service import record_event
from cybervault.kit.db import Database, utcnow
from cybervault.kit.migrate import upgrade_database
from cybervault.orgs.service import create_org
from cybervault.webhooks.crypto import encrypt_text
from cybervault.webhooks.models import Delivery, WebhookEndpoint
from cybervault.webhooks.signing import generate_secret
from tests.conftest import REDIS_URL, _pg_admin, _redis_ok, base_settings, unavailable
from tests.helpers import poll_until
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.slow
EVENTS = 60


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    name = f"cv_test_crash_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        unavailable(f"PostgreSQL unreachable: {exc}")
    if not await _redis_ok():
        unavailable("Redis unreachable")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "cybervault"), "worker"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_sigkill_mid_delivery_loses_no_event(pg_database: str) -> None:
    prefix = f"cvtest:{pg_database.rsplit('/', 1)[1]}"
    settings = base_settings(database_url=pg_database, redis_url=REDIS_URL, redis_prefix=prefix,
                             run_jobs_in_process=False, job_lease_seconds=3, reconcile_interval_seconds=0.3)
    env = {**os.environ, "CYBERVAULT_ENV": "test", "CYBERVAULT_DATABASE_URL": pg_database,
           "CYBERVAULT_REDIS_URL": REDIS_URL, "CYBERVAULT_REDIS_PREFIX": prefix,
           "CYBERVAULT_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
           "CYBERVAULT_SECRET_KEY": settings.secret_key.get_secret_value(),
           "CYBERVAULT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "CYBERVAULT_WEBHOOK_RETRY_SCALE": "0.001",
           "CYBERVAULT_JOB_LEASE_SECONDS": "3", "CYBERVAULT_RECONCILE_INTERVAL_SECONDS": "0.3",
           "CYBERVAULT_WEBHOOK_TIMEOUT_SECONDS": "3", "CYBERVAULT_WEBHOOK_CONNECT_TIMEOUT_SECONDS": "2",
           "CYBERVAULT_WORKER_CONCURRENCY": "8", "CYBERVAULT_LOG_LEVEL": "error"}
    db = Database(pg_database, pool_size=4)
    workers: list[subprocess.Popen[bytes]] = []
    async with Receiver(delay=0.15) as receiver:
        try:
            await upgrade_database(db)
            async with db.session() as session:
                org = await create_org(session, "Crash test org")
                now = utcnow()
                session.add(WebhookEndpoint(
                    id="we_crash", org_id=org.id, livemode=True, url=receiver.url, enabled_events=["*"],
                    status="enabled", secret_encrypted=encrypt_text(settings.encryption_key, generate_secret()),
                    created_at=now, updated_at=now))
                sent = [record_event(session, org_id=org.id, livemode=True, type="incident.created",
                                     obj={"id": f"inc_{i}", "object": "incident"}).id for i in range(EVENTS)]
                await session.commit()

            workers.append(start_worker(env))
            # Kill the first worker while it has requests in flight at the receiver.
            await poll_until(lambda: len(receiver.requests) >= 10 and receiver.in_flight > 0, timeout=60,
                             message="deliveries in flight")
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            killed_at = len(receiver.requests)
            assert killed_at < EVENTS, "the first worker finished before it could be killed"

            workers.append(start_worker(env))

            def received() -> set[str]:
                return {json.loads(r.body)["id"] for r in receiver.requests}

            await poll_until(lambda: received() >= set(sent), timeout=90, interval=0.2,
                             message="every event delivered after the crash")
            assert received() == set(sent)

            async def all_succeeded() -> bool:
                async with db.session() as session:
                    counts: dict[str, Any] = dict((await session.execute(
                        select(Delivery.status, func.count()).group_by(Delivery.status))).all())
                return counts == {"succeeded": EVENTS}

            await poll_until(all_succeeded, timeout=30, message="every delivery row succeeded")
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    try:
                        worker.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        worker.kill()
            await db.dispose()
