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
# How far back the change feed is read (longer than SCHEDULED_EVERY, so nothing falls in between).
LOOKBACK = dt.timedelta(days=1)
MAX_PER_SWEEP = 200


@job_handler("compliance.evaluate", max_attempts=3, lease_seconds=120)
async def evaluate(ctx: JobContext) -> dict[str, Any]:
    org_id = str(ctx.payload["org_id"])
    livemode = bool(ctx.payload["livemode"])
    trigger = str(ctx.payload.get("trigger", "schedule"))
    async with ctx.db.session() as session:
        record = await evaluate_and_record(session, org_id, livemode, trigger=trigger)
        await session.commit()
    return {"changes": len(record.changes), "baseline": record.baseline, "skipped": record.skipped,
            "snapshot": record.snapshot.id if record.snapshot else None}


@job_handler("compliance.sweep", max_attempts=1, lease_seconds=120)
async def sweep(ctx: JobContext) -> dict[str, Any]:
    """Queue an evaluation for every tenant whose data changed since its last one, or that is due.

    Order: tenants with new activity, then never-evaluated ones (their baseline), then the stalest;
    at most MAX_PER_SWEEP per run so a large install spreads the work over several sweeps.
    """
    now = utcnow()
    async with ctx.db.session() as session:
        states = await repo.all_evaluation_states(session)
        tenants = await repo.tenants_with_keys(session)
        # Activity older than the look-back belongs to tenants the schedule re-evaluates anyway.
        activity = await repo.latest_activity(session, now - LOOKBACK)
        pending = await repo.pending_evaluations(session)
        candidates: list[tuple[int, dt.datetime, tuple[str, bool], str]] = []
        for tenant in set(tenants) | set(activity):
            if tenant in pending:
                continue  # one queued evaluation will see everything that changed
            state = states.get(tenant)
            last = state.last_evaluated_at if state else None
            if tenant in activity and (last is None or activity[tenant] > last):
                candidates.append((0, last or now, tenant, "data_change"))
            elif last is None:
                candidates.append((1, now, tenant, "schedule"))
            elif now - last >= SCHEDULED_EVERY:
                candidates.append((2, last, tenant, "schedule"))
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, _, (org_id, livemode), trigger in candidates[:MAX_PER_SWEEP]:
            request_evaluation(session, org_id, livemode, trigger)
        await session.commit()
    queued = min(len(candidates), MAX_PER_SWEEP)
    if queued:
        log.info("compliance.sweep", queued=queued, waiting=len(candidates) - queued)
    return {"queued": queued, "waiting": len(candidates) - queued}


periodic("compliance.sweep", SWEEP_SECONDS)
