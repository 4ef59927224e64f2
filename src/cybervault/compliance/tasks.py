"""Background evaluation: on data change (watched through events and the audit log) and on schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog

from cybervault.compliance import repository as repo
from cybervault.compliance.service import evaluate_and_record, request_evaluation
from cybervault.jobs.registry import job_handler, periodic
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 60
# Time alone changes posture (SLA deadlines pass, keys age, attestations expire), so every tenant is
# re-evaluated at least this often even when no data changed.
SCHEDULED_EVERY = dt.timedelta(hours=6)
# How far back the change feed is read when a tenant has never been evaluated.
LOOKBACK = dt.timedelta(days=1)


@job_handler("compliance.evaluate", max_attempts=3, lease_seconds=120)
async def evaluate(ctx: JobContext) -> dict[str, Any]:
    org_id = str(ctx.payload["org_id"])
    livemode = bool(ctx.payload["livemode"])
    trigger = str(ctx.payload.get("trigger", "schedule"))
    async with ctx.db.session() as session:
        record = await evaluate_and_record(session, org_id, livemode, trigger=trigger)
        await session.commit()
    return {"changes": len(record.changes), "baseline": record.baseline,
            "snapshot": record.snapshot.id if record.snapshot else None}


@job_handler("compliance.sweep", max_attempts=1, lease_seconds=120)
async def sweep(ctx: JobContext) -> dict[str, Any]:
    """Queue an evaluation for every tenant whose data changed since its last one, or that is due."""
    now = utcnow()
    queued = 0
    async with ctx.db.session() as session:
        states = await repo.all_evaluation_states(session)
        tenants = await repo.tenants_with_keys(session)
        oldest = min((s.last_evaluated_at for s in states.values() if s.last_evaluated_at), default=None)
        since = min(oldest, now - LOOKBACK) if oldest else now - LOOKBACK
        activity = await repo.latest_activity(session, since)
        for tenant in sorted(set(tenants) | set(activity)):
            state = states.get(tenant)
            last = state.last_evaluated_at if state else None
            changed = tenant in activity and (last is None or activity[tenant] > last)
            due = last is None or now - last >= SCHEDULED_EVERY
            if changed or due:
                request_evaluation(session, tenant[0], tenant[1], "data_change" if changed else "schedule")
                queued += 1
        await session.commit()
    if queued:
        log.info("compliance.sweep", queued=queued)
    return {"queued": queued}


periodic("compliance.sweep", SWEEP_SECONDS)
