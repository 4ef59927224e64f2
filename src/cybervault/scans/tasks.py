"""Scan job handlers and the periodic jobs that keep scans honest and schedules running."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import select

from cybervault.jobs.models import Job
from cybervault.jobs.registry import job_handler, periodic
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import Database
from cybervault.kit.time import utcnow
from cybervault.scans.models import ACTIVE_STATUSES, Scan
from cybervault.scans.results import fail_scan
from cybervault.scans.runner import ScanExecution
from cybervault.scans.schedules import run_due_schedules

log = structlog.get_logger(__name__)
LOST_SCAN = "The worker running this scan was lost and the scan could not be restarted."
ORPHAN_GRACE = dt.timedelta(minutes=2)


@job_handler("scans.run", max_attempts=3, lease_seconds=30)
async def run_scan_job(ctx: JobContext) -> dict[str, Any]:
    return await ScanExecution(ctx, str(ctx.payload["scan_id"])).run()


async def reconcile_scans(db: Database) -> int:
    """Ends `failed` every active scan whose job has failed for good (e.g. its workers kept dying) or
    vanished, so no scan stays `running` forever. Returns how many it ended."""
    now = utcnow()
    ended = 0
    async with db.session() as session, session.begin():
        rows = (await session.execute(
            select(Scan, Job).outerjoin(Job, Job.id == Scan.job_id)
            .where(Scan.status.in_(ACTIVE_STATUSES), Scan.livemode.is_(True))
            .limit(500))).all()
        for scan, job in rows:
            if job is not None and job.status != "failed":
                continue
            if job is None and scan.created_at > now - ORPHAN_GRACE:
                continue
            reason = LOST_SCAN
            if job is not None and job.last_error:
                reason = f"{LOST_SCAN} Last error: {job.last_error}"
            await fail_scan(session, scan, reason)
            ended += 1
    if ended:
        log.warning("scans.reconciled", ended=ended)
    return ended


@job_handler("scans.reconcile", max_attempts=1, lease_seconds=60)
async def reconcile_job(ctx: JobContext) -> dict[str, Any]:
    return {"ended": await reconcile_scans(ctx.db)}


@job_handler("scans.schedules", max_attempts=1, lease_seconds=120)
async def schedules_job(ctx: JobContext) -> dict[str, Any]:
    return {"started": await run_due_schedules(ctx.db, ctx.settings)}


periodic("scans.reconcile", 30)
periodic("scans.schedules", 60)
