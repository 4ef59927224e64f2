"""Scans as jobs: preliminary 202s, cancel within a second, recovery after a lost worker, limits."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from cybervault.events.models import Event
from cybervault.jobs.models import Job
from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id
from cybervault.scans import runner
from cybervault.scans.models import Scan
from cybervault.scans.service import start_scan
from cybervault.scans.tasks import reconcile_scans
from tests.helpers import OrgKeys, poll_until
from tests.scans.conftest import LoopbackServers, register, silent, wait_finished


async def _job(app: Any, job_id: str) -> Job:
    async with app.state.db.session() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def _scan_row(app: Any, scan_id: str) -> Scan:
    async with app.state.db.session() as session:
        scan = await session.get(Scan, scan_id)
        assert scan is not None
        return scan


@pytest.fixture
async def silent_port(loopback: LoopbackServers, scan_ports: list[int]) -> int:
    port = await loopback.start(silent)
    scan_ports.append(port)
    return port


async def test_wait_zero_gives_202_with_progress_then_cancel_stops_within_a_second(
        app: Any, org: OrgKeys, silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run_scan = runner.run_scan

    async def long_scan(targets: list[str], options: Any, **kwargs: Any) -> AsyncIterator[Any]:
        # The real engine, run over the silent port several times in a row (~3 s each), so the scan
        # is certainly still running when the test cancels it, however loaded the machine is.
        for _ in range(8):
            async for host in real_run_scan(targets, options, **kwargs):
                yield host
            if kwargs["cancel"].is_set():
                return

    monkeypatch.setattr(runner, "run_scan", long_scan)
    await register(org.live, "127.0.0.1")
    response = await org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.1", "depth": "deep", "wait": 0})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] in ("queued", "running") and body["findings"] == [] and body["threats_found"] == 0
    assert set(body["progress"]) == {"percent", "hosts_total", "hosts_done", "ports_total", "ports_done"}

    async def running() -> Scan | None:
        scan = await _scan_row(app, body["id"])
        return scan if scan.status == "running" else None

    scan = await poll_until(running, timeout=20, message="scan to start running")

    async def swept() -> dict[str, Any] | None:
        seen = (await org.live.get(f"/v1/threats/scans/{body['id']}")).json()
        return seen if seen["progress"]["ports_done"] == 1 else None

    # Progress is visible while the scan runs: the sweep is done, fingerprinting is not.
    midway = await poll_until(swept, timeout=20, interval=0.05, message="progress while running")
    assert midway["status"] == "running" and 0 < midway["progress"]["percent"] < 100
    assert midway["progress"]["ports_total"] == 1 and midway["progress"]["hosts_total"] == 1
    canceled_at = time.monotonic()
    cancel = await org.live.post(f"/v1/threats/scans/{body['id']}/cancel")
    assert cancel.status_code == 200 and cancel.json()["status"] == "canceled"

    async def job_done() -> Job | None:
        job = await _job(app, scan.job_id or "")
        return job if job.status in ("succeeded", "failed") else None

    job = await poll_until(job_done, timeout=10, interval=0.02, message="scan job to stop")
    # The engine stops within a second; the bound leaves room for a loaded CI machine. Uncanceled,
    # this scan would run for ~20 s more.
    assert time.monotonic() - canceled_at < 2.5
    assert job.status == "succeeded" and job.result == {"scan_id": body["id"], "status": "canceled"}
    final = (await org.live.get(f"/v1/threats/scans/{body['id']}")).json()
    assert final["status"] == "canceled" and final["completed_at"] is not None
    again = await org.live.post(f"/v1/threats/scans/{body['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "scan_not_cancelable"
    async with app.state.db.session() as session:
        completed = (await session.scalars(select(Event).where(Event.org_id == org.id,
                                                               Event.type == "scan.completed"))).all()
    assert completed == []


async def test_cancel_of_a_finished_sandbox_scan_is_409(org: OrgKeys) -> None:
    scan = (await org.test.post("/v1/threats/scans", json={"target_ip": "192.168.1.0/24"})).json()
    response = await org.test.post(f"/v1/threats/scans/{scan['id']}/cancel")
    assert response.status_code == 409 and response.json()["error"]["code"] == "scan_not_cancelable"
    assert (await org.test.post("/v1/threats/scans/sc_doesnotexist/cancel")).status_code == 404


async def _orphan(app: Any, org: OrgKeys, *, job_values: dict[str, Any]) -> Scan:
    """A live scan whose worker died mid-scan: job running under a dead worker's expired lease."""
    principal = Principal(org_id=org.id, livemode=True, key_id="key_test", kind="sk")
    async with app.state.db.session() as session:
        scan = await start_scan(session, principal, app.state.settings, target="127.0.0.1", depth="quick",
                                include_vulns=False)
        values: dict[str, Any] = {"status": "running", "lease_owner": "dead-host:4242:abcdef", "attempts": 1,
                                  "lease_expires_at": utcnow() - dt.timedelta(seconds=1), **job_values}
        await session.execute(update(Job).where(Job.id == scan.job_id).values(**values))
        scan.status, scan.attempts, scan.started_at = "running", 1, utcnow()
        scan.progress = {"percent": 40.0, "hosts_total": 1, "hosts_done": 0, "ports_total": 1, "ports_done": 0}
        await session.commit()
    return scan


async def test_scan_of_a_killed_worker_is_reclaimed_and_completes(app: Any, org: OrgKeys, ssh_port: int) -> None:
    await register(org.live, "127.0.0.1")
    orphan = await _orphan(app, org, job_values={})
    final = await wait_finished(org, orphan.id, timeout=30)
    assert final["status"] == "completed" and final["progress"]["percent"] == 100.0
    assert any(f["port"] == ssh_port for f in final["findings"])

    async def job_succeeded() -> Job | None:  # the runner records the job's outcome just after the scan's
        job = await _job(app, orphan.job_id or "")
        return job if job.status == "succeeded" else None

    job = await poll_until(job_succeeded, timeout=10, message="the reclaimed job to succeed")
    assert job.attempts == 2 and job.lease_owner != "dead-host:4242:abcdef"
    assert (await _scan_row(app, orphan.id)).attempts == 2


async def test_scan_whose_workers_keep_dying_ends_failed_with_a_reason(app: Any, org: OrgKeys,
                                                                       ssh_port: int) -> None:
    await register(org.live, "127.0.0.1")
    orphan = await _orphan(app, org, job_values={"attempts": 3, "last_error": "worker killed (SIGKILL)"})

    async def job_failed() -> Job | None:
        job = await _job(app, orphan.job_id or "")
        return job if job.status == "failed" else None

    await poll_until(job_failed, timeout=15, message="the runner to give up on the job")
    # The scan stays running until a reconcile pass ends it: this one, or the periodic one if it ran first.
    await reconcile_scans(app.state.db)
    final = (await org.live.get(f"/v1/threats/scans/{orphan.id}")).json()
    assert final["status"] == "failed"
    assert "worker running this scan was lost" in final["error"] and "SIGKILL" in final["error"]
    async with app.state.db.session() as session:
        failed = (await session.scalars(select(Event).where(Event.org_id == org.id,
                                                            Event.type == "scan.failed"))).all()
    assert [e.data["object"]["id"] for e in failed] == [orphan.id]


async def test_concurrent_scan_limit(app: Any, org: OrgKeys) -> None:
    await register(org.live, "127.0.0.1")
    limit = app.state.settings.scan_max_concurrent_per_org
    ids = [new_id("sc") for _ in range(limit)]
    now = utcnow()
    async with app.state.db.session() as session:
        for scan_id in ids:  # rows only, no jobs: they occupy the org's slots
            session.add(Scan(id=scan_id, org_id=org.id, livemode=True, target="127.0.0.1", depth="quick",
                             include_vulns=False, status="running", progress={}, threats_found=0, attempts=1,
                             created_at=now, updated_at=now))
        await session.commit()
    try:
        response = await org.live.post("/v1/threats/scans", json={"target_ip": "127.0.0.1"})
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "scan_limit_exceeded"
        assert str(limit) in response.json()["error"]["message"] and "retry-after" in response.headers
        # Test mode is a separate partition with its own slots.
        assert (await org.test.post("/v1/threats/scans", json={"target_ip": "127.0.0.1"})).status_code == 202
    finally:
        async with app.state.db.session() as session:
            await session.execute(update(Scan).where(Scan.id.in_(ids)).values(status="canceled"))
            await session.commit()


async def test_daily_quota(app: Any, org: OrgKeys) -> None:
    for _ in range(2):
        assert (await org.test.post("/v1/threats/scans", json={"target_ip": "10.0.0.1"})).status_code == 202
    original = app.state.settings
    app.state.settings = original.model_copy(update={"scan_daily_quota_per_org": 2})
    try:
        response = await org.test.get("/v1/threats/scan", params={"target_ip": "10.0.0.1"})
    finally:
        app.state.settings = original
    assert response.status_code == 429
    assert "daily quota" in response.json()["error"]["message"]
    assert 0 < int(response.headers["retry-after"]) <= 86_400


async def test_scope_is_checked_again_when_the_scan_runs(app: Any, org: OrgKeys, ssh_port: int) -> None:
    from cybervault.assets.models import Asset

    asset = await register(org.live, "127.0.0.1")
    principal = Principal(org_id=org.id, livemode=True, key_id="key_test", kind="sk")
    async with app.state.db.session() as session:
        scan = await start_scan(session, principal, app.state.settings, target="127.0.0.1", depth="quick",
                                include_vulns=False)
        await session.delete(await session.get(Asset, asset["id"]))  # removed before a worker picks it up
        await session.commit()
    final = await wait_finished(org, scan.id)
    assert final["status"] == "failed" and "not inside any asset" in final["error"]
    assert final["findings"] == []
