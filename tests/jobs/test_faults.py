"""Faults with real processes: workers share jobs; a worker or the embedded server killed with SIGKILL
mid-job loses nothing; a job whose broker message never arrived is run by the reconciler.

Each test gets its own database (a temp SQLite file, or a fresh PostgreSQL database) so the test run's
in-process job runner cannot claim the jobs these processes are meant to run.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cybervault.config import Settings
from cybervault.jobs.models import Job
from cybervault.kit.db import Database, utcnow
from cybervault.kit.ids import new_id
from tests.conftest import REDIS_URL, _pg_admin
from tests.helpers import free_port, poll_until
from tests.jobs.procs import Proc, cli_env, migrate, running, wait_http

pytestmark = pytest.mark.slow


@pytest.fixture
async def fault_db(backend: dict[str, Any], tmp_path: Path, settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """A migrated database of the run's backend kind, used only by this test's processes."""
    if backend["name"] == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}"
        name = None
    else:
        name = f"cv_test_faults_{os.getpid()}_{secrets.token_hex(3)}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    migrate(cli_env(settings, url, None))
    db = Database(url, pool_size=2)
    try:
        yield {"name": backend["name"], "url": url, "db": db}
    finally:
        await db.dispose()
        if name is not None:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _insert_job(db: Database, payload: dict[str, Any]) -> str:
    """Write a job row without publishing it anywhere (as if its broker message was lost)."""
    now = utcnow()
    job_id = new_id("job")
    async with db.session() as session:
        session.add(Job(id=job_id, kind="diagnostics.sleep", payload=payload, status="queued", attempts=0,
                        max_attempts=5, run_at=now, created_at=now, updated_at=now))
        await session.commit()
    return job_id


async def _job(db: Database, job_id: str) -> Job | None:
    async with db.session() as session:
        return await session.get(Job, job_id)


async def _finished(db: Database, job_id: str) -> Job | None:
    job = await _job(db, job_id)
    return job if job is not None and job.status in ("succeeded", "failed") else None


async def _running_on(db: Database, job_id: str) -> str | None:
    job = await _job(db, job_id)
    return job.lease_owner if job is not None and job.status == "running" else None


def _serve(env: dict[str, str], tmp_path: Path, name: str = "serve") -> tuple[Proc, int]:
    port = free_port()
    proc = Proc(["serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / f"{name}.log")
    wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, port


def _pid_of(worker_id: str) -> int:
    return int(worker_id.split(":")[1])  # host:pid:random


async def test_dropped_message_is_run_by_the_reconciler(fault_db: dict[str, Any], settings: Settings,
                                                        tmp_path: Path) -> None:
    redis = REDIS_URL if fault_db["name"] == "postgres" else None
    env = cli_env(settings, fault_db["url"], redis)
    procs = [_serve(env, tmp_path)[0]]
    if redis:
        procs.append(Proc(["worker"], env, tmp_path / "worker.log"))
    with running(*procs):
        job_id = await _insert_job(fault_db["db"], {"seconds": 0})
        done = await poll_until(lambda: _finished(fault_db["db"], job_id), timeout=60,
                                message="reconciler to publish the unpublished job")
    assert done.status == "succeeded" and done.attempts == 1


async def test_embedded_server_killed_mid_job_then_restarted(fault_db: dict[str, Any], settings: Settings,
                                                             tmp_path: Path) -> None:
    env = cli_env(settings, fault_db["url"], None)  # embedded: jobs run inside `cybervault serve`
    first, _ = _serve(env, tmp_path, "serve-1")
    with running(first):
        job_id = await _insert_job(fault_db["db"], {"seconds": 30})
        owner = await poll_until(lambda: _running_on(fault_db["db"], job_id), timeout=30, message="job to start")
        assert _pid_of(owner) == first.pid
        first.kill(signal.SIGKILL)
    job = await _job(fault_db["db"], job_id)
    assert job is not None and job.status == "running"  # stranded until its lease expires

    async with fault_db["db"].session() as session:  # shorten the rerun so the test stays fast
        row = await session.get(Job, job_id)
        assert row is not None
        row.payload = {"seconds": 0}
        await session.commit()
    second, _ = _serve(env, tmp_path, "serve-2")
    with running(second):
        done = await poll_until(lambda: _finished(fault_db["db"], job_id), timeout=60,
                                message="job to complete after restart")
    assert done.status == "succeeded" and done.attempts == 2
    assert _pid_of(done.result["worker_id"]) == second.pid


async def test_workers_share_jobs_and_survive_a_killed_worker(fault_db: dict[str, Any], settings: Settings,
                                                              tmp_path: Path) -> None:
    if fault_db["name"] != "postgres":
        pytest.skip("separate worker processes need PostgreSQL and Redis")
    env = cli_env(settings, fault_db["url"], REDIS_URL)
    server, port = _serve(env, tmp_path)
    workers = [Proc(["worker", "--concurrency", "2"], env, tmp_path / f"worker-{i}.log") for i in range(2)]
    with running(server, *workers):
        # Both workers take part: short jobs land on whichever worker is free.
        ids = [await _insert_job(fault_db["db"], {"seconds": 0.4}) for _ in range(12)]
        finished = []
        for job_id in ids:
            finished.append(await poll_until(lambda j=job_id: _finished(fault_db["db"], j), timeout=60,
                                             message="shared jobs"))
        assert all(j.status == "succeeded" for j in finished)
        ran_on = {_pid_of(j.result["worker_id"]) for j in finished}
        assert ran_on == {w.pid for w in workers}, f"both workers should run jobs, got {ran_on}"

        # Kill whichever worker holds a long job; the other finishes it once the lease expires.
        job_id = await _insert_job(fault_db["db"], {"seconds": 4})
        owner = await poll_until(lambda: _running_on(fault_db["db"], job_id), timeout=30, message="long job")
        victim = next(w for w in workers if w.pid == _pid_of(owner))
        survivor = next(w for w in workers if w is not victim)
        victim.kill(signal.SIGKILL)
        done = await poll_until(lambda: _finished(fault_db["db"], job_id), timeout=60,
                                message="job to move to the surviving worker")
        assert done.status == "succeeded" and done.attempts == 2
        assert _pid_of(done.result["worker_id"]) == survivor.pid
        assert server.alive() and survivor.alive()
