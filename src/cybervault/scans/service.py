"""Scan rules: validate and scope the target, enforce per-org limits, then queue a job (live) or
simulate the scan on the spot (sandbox)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.jobs.service import enqueue
from cybervault.kit.auth import Principal
from cybervault.kit.db import Database
from cybervault.kit.errors import InvalidRequest, ScanLimitExceeded, ScanNotCancelable
from cybervault.kit.ids import new_id
from cybervault.kit.pagination import PageParams
from cybervault.kit.time import utcnow
from cybervault.orgs.models import Organization
from cybervault.scans import sandbox
from cybervault.scans.models import ACTIVE_STATUSES, FINISHED_STATUSES, Finding, Scan
from cybervault.scans.render import EMPTY_PROGRESS, render_finding, render_scan
from cybervault.scans.repository import FindingRepository, ScanRepository, findings_of_scans
from cybervault.scans.results import complete_scan, fail_scan, record_findings, scan_object
from cybervault.scans.scope import ScanScope, check_scan_target

SCAN_JOB = "scans.run"
SCAN_JOB_ATTEMPTS = 3


async def _enforce_limits(session: AsyncSession, principal: Principal, settings: Settings) -> None:
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        # Serialize scan creation per org so two requests cannot both take the last slot.
        # (SQLite transactions here start with BEGIN IMMEDIATE and are serialized already.)
        await session.execute(select(Organization.id).where(Organization.id == principal.org_id).with_for_update())
    repo = ScanRepository(session, principal)
    active = await repo.count_active()
    limit = settings.scan_max_concurrent_per_org
    if active >= limit:
        raise ScanLimitExceeded(
            f"This organization already has {active} scans queued or running (limit {limit}). "
            "Wait for one to finish or cancel one.", headers={"Retry-After": "10"})
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    quota = settings.scan_daily_quota_per_org
    if await repo.count_since(midnight) >= quota:
        retry = int((midnight + dt.timedelta(days=1) - now).total_seconds()) + 1
        raise ScanLimitExceeded(
            f"This organization has used its daily quota of {quota} scans; it resets at 00:00 UTC.",
            headers={"Retry-After": str(retry)})


async def start_scan(
    session: AsyncSession, principal: Principal, settings: Settings, *, target: str, depth: str,
    include_vulns: bool, schedule_id: str | None = None, param: str = "target_ip",
) -> Scan:
    scope = await check_scan_target(session, principal, target, settings, param=param)
    await _enforce_limits(session, principal, settings)
    now = utcnow()
    scan = ScanRepository(session, principal).add(Scan(
        id=new_id("sc"), target=scope.target.text, depth=depth, include_vulns=include_vulns, status="queued",
        progress=dict(EMPTY_PROGRESS), threats_found=0, schedule_id=schedule_id, attempts=0,
        created_at=now, updated_at=now,
    ))
    await session.flush()
    if not principal.livemode:
        await _run_sandbox(session, scan, scope)
        return scan
    job = enqueue(session, SCAN_JOB, {"scan_id": scan.id}, max_attempts=SCAN_JOB_ATTEMPTS, org_id=principal.org_id)
    scan.job_id = job.id
    await session.flush()
    return scan


async def _run_sandbox(session: AsyncSession, scan: Scan, scope: ScanScope) -> None:
    """Test keys: simulated, synchronous, no sockets (see sandbox.py and docs/sandbox.md)."""
    result = sandbox.simulate(scope.target, scan.depth, scan.include_vulns)
    now = utcnow()
    scan.status, scan.started_at, scan.attempts = "running", now, 1
    scan.progress = {"percent": 0.0, "hosts_total": result.hosts_total, "hosts_done": 0,
                     "ports_total": result.ports_total, "ports_done": 0}
    if result.status == "failed":
        await fail_scan(session, scan, result.error or "The scan failed.")
        return
    await record_findings(session, scan, result.findings, now)
    await complete_scan(session, scan)


async def wait_for_scan(db: Database, principal: Principal, scan_id: str, seconds: float) -> dict[str, Any]:
    """The scan object once finished, or as it stands when `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        async with db.session() as session:
            scan = await ScanRepository(session, principal).get(scan_id)
            if scan.status in FINISHED_STATUSES or time.monotonic() >= deadline:
                return await scan_object(session, scan)
        await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


async def get_scan(session: AsyncSession, principal: Principal, scan_id: str) -> dict[str, Any]:
    scan = await ScanRepository(session, principal).get(scan_id)
    return await scan_object(session, scan)


async def list_scans(session: AsyncSession, principal: Principal, params: PageParams, *,
                     status: str | None) -> dict[str, Any]:
    repo = ScanRepository(session, principal)
    page = await repo.page(params, lambda s: render_scan(s, []), repo.filtered(status=status))
    found = await findings_of_scans(session, [item["id"] for item in page["data"]])
    for item in page["data"]:
        item["findings"] = [render_finding(f) for f in found.get(item["id"], [])]
    return page


async def cancel_scan(session: AsyncSession, principal: Principal, scan_id: str) -> Scan:
    scan = await ScanRepository(session, principal).get(scan_id, for_update=True)
    if scan.status not in ACTIVE_STATUSES:
        raise ScanNotCancelable(f"Scan '{scan.id}' is already {scan.status} and cannot be canceled.", param="id")
    now = utcnow()
    scan.status, scan.completed_at, scan.updated_at = "canceled", now, now
    await session.flush()
    return scan


async def list_findings(session: AsyncSession, principal: Principal, params: PageParams,
                        **filters: str | None) -> dict[str, Any]:
    repo = FindingRepository(session, principal)
    return await repo.page(params, render_finding, repo.filtered(**filters))  # type: ignore[arg-type]


async def get_finding(session: AsyncSession, principal: Principal, finding_id: str) -> Finding:
    return await FindingRepository(session, principal).get(finding_id)


async def update_finding(session: AsyncSession, principal: Principal, finding_id: str, status: str,
                         reason: str | None) -> Finding:
    finding = await FindingRepository(session, principal).get(finding_id, for_update=True)
    if status == "accepted_risk" and not (reason and reason.strip()):
        raise InvalidRequest("Accepting a risk needs a 'reason' saying why.", param="reason")
    finding.status, finding.status_reason, finding.updated_at = status, (reason or None), utcnow()
    await session.flush()
    return finding
