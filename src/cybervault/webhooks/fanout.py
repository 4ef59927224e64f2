"""events.dispatch, batched: fan out many events at once and make the first attempts inline.

The generic path costs, per delivery, a job that is claimed, leased and finished through the
database before and after the HTTP call. Here one dispatch job also takes the other queued dispatch
jobs under a lease, sends the first attempts itself, and records everything in one transaction: the
deliveries (written with their first attempt's outcome), the attempts, and the taken jobs completed.

Nothing is lost if this worker dies before that transaction commits: the taken jobs (and its own) are
still leased, not finished, so once their leases expire the reconciler publishes them again and
another worker dispatches their events — at worst an attempt is made twice (at-least-once). A rerun
skips the (event, endpoint) pairs an earlier run recorded.

Round trips matter more than anything here (on a small VM each costs about as much CPU as building
the statement), so reads and the take are single statements, autocommitted on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from cybervault.config import Settings
from cybervault.events.models import Event
from cybervault.events.service import DISPATCH_KIND, dispatch_event_ids, render_event
from cybervault.jobs.models import Job
from cybervault.jobs.runner import JobContext
from cybervault.jobs.service import enqueue
from cybervault.kit.db import Database, utcnow
from cybervault.kit.ids import new_id
from cybervault.webhooks import sender
from cybervault.webhooks.delivery import (
    JOB_KIND,
    SendResult,
    TargetUnavailable,
    apply_result,
    attempt_values,
    target_slot,
)
from cybervault.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from cybervault.webhooks.service import subscribes

BATCH = 250  # events per dispatch run
# The sends of one run share its worker slot, so queueing for an endpoint's concurrency slots costs no
# worker slots: no cap on waiters here. The wait bound still hands a slow endpoint's backlog to jobs.
INLINE_WAITERS = 1_000_000
BUSY_RETRY_SECONDS = 0.5
_DELIVERIES = Delivery.__table__
_ATTEMPTS = DeliveryAttempt.__table__
_JOBS = Job.__table__
_ENDPOINTS = WebhookEndpoint.__table__


@dataclass
class Planned:
    delivery_id: str
    event: Any  # a row of the event's columns
    body: bytes  # the event rendered and encoded once, signed per endpoint
    endpoint: Any  # a row of webhook_endpoints


@dataclass
class Taken:
    job_ids: list[str]
    event_ids: list[str]
    ran_before: bool  # some job had been attempted already: an earlier run may have recorded deliveries


async def dispatch(ctx: JobContext) -> dict[str, Any]:
    now = utcnow()
    own = dispatch_event_ids(ctx.payload)
    taken = await _take_queued_dispatches(ctx, now, BATCH - len(own))
    try:
        planned = await _plan(ctx.db, [*own, *taken.event_ids], now,
                              maybe_done_before=taken.ran_before or ctx.attempt > 1)
        results = await _send_all(ctx, planned)
        await _record(ctx, planned, results, taken.job_ids)
    except BaseException:
        # Shutdown or an error before the record committed: hand the taken jobs back now instead of
        # leaving their events to wait out the long lease (their sends may repeat: at-least-once).
        if taken.job_ids:
            with contextlib.suppress(Exception):
                await asyncio.shield(_release(ctx, taken.job_ids))
        raise
    return {"events": len(own) + len(taken.event_ids), "deliveries": len(planned), "jobs_taken": len(taken.job_ids)}


def _taken_lease(settings: Settings) -> dt.timedelta:
    """Long enough for the run that took a job to wait for a slot, send and record (nothing renews it)."""
    return dt.timedelta(seconds=settings.job_lease_seconds + 2 * settings.webhook_timeout_seconds)


async def _take_queued_dispatches(ctx: JobContext, now: dt.datetime, room: int) -> Taken:
    """Lease other due dispatch jobs, up to `room` events. Candidates are read without locks; the
    conditional UPDATE then takes only those still queued, so two leaders never take the same job."""
    if room <= 0:
        return Taken([], [], False)
    async with ctx.db.single_statements() as conn:
        candidates = (await conn.execute(
            select(_JOBS.c.id, _JOBS.c.payload)
            .where(_JOBS.c.kind == DISPATCH_KIND, _JOBS.c.status == "queued", _JOBS.c.run_at <= now,
                   _JOBS.c.id != ctx.job_id)
            .order_by(_JOBS.c.run_at).limit(room))).all()
        chosen: list[str] = []
        count = 0
        for row in candidates:
            size = len(dispatch_event_ids(row.payload))
            if chosen and count + size > room:
                break
            chosen.append(row.id)
            count += size
        if not chosen:
            return Taken([], [], False)
        rows = (await conn.execute(
            update(_JOBS).where(_JOBS.c.id.in_(chosen), _JOBS.c.status == "queued")
            .values(status="running", lease_owner=ctx.worker_id, attempts=_JOBS.c.attempts + 1,
                    lease_expires_at=now + _taken_lease(ctx.settings), updated_at=now)
            .returning(_JOBS.c.id, _JOBS.c.payload, _JOBS.c.attempts))).all()
    event_ids = [event_id for row in rows for event_id in dispatch_event_ids(row.payload)]
    return Taken([row.id for row in rows], event_ids, any(row.attempts > 1 for row in rows))


async def _release(ctx: JobContext, job_ids: list[str]) -> None:
    """Taken jobs back to queued and unpublished, so the reconciler's next tick publishes them."""
    async with ctx.db.single_statements() as conn:
        await conn.execute(
            update(_JOBS).where(_JOBS.c.id.in_(job_ids), _JOBS.c.lease_owner == ctx.worker_id,
                                _JOBS.c.status == "running")
            .values(status="queued", lease_owner=None, lease_expires_at=None, published_at=None,
                    updated_at=utcnow()))


async def _plan(db: Database, event_ids: list[str], now: dt.datetime, *, maybe_done_before: bool) -> list[Planned]:
    """Which endpoints get which events (nothing is written yet)."""
    async with db.single_statements() as conn:
        events = sorted((e for e in (await conn.execute(
            select(Event.id, Event.org_id, Event.livemode, Event.type, Event.data, Event.created_at)
            .where(Event.id.in_(event_ids)))).all()
            if e.type != "webhook.test"), key=lambda e: e.id)  # test events go to their one endpoint
        if not events:
            return []
        endpoints = (await conn.execute(select(_ENDPOINTS).where(
            _ENDPOINTS.c.org_id.in_({e.org_id for e in events}), _ENDPOINTS.c.status == "enabled"))).all()
        existing: set[tuple[str, str]] = set()
        if maybe_done_before:  # an earlier run may have recorded some deliveries: do not duplicate them
            existing = {(r.event_id, r.target_id) for r in (await conn.execute(
                select(Delivery.event_id, Delivery.target_id).where(
                    Delivery.event_id.in_([e.id for e in events]), Delivery.target_type == sender.TARGET_TYPE))).all()}
    tenants: dict[tuple[str, bool], list[Any]] = defaultdict(list)
    for endpoint in endpoints:
        tenants[(endpoint.org_id, endpoint.livemode)].append(endpoint)
    planned: list[Planned] = []
    for event in events:
        body: bytes | None = None
        for endpoint in tenants[(event.org_id, event.livemode)]:
            if (event.id, endpoint.id) in existing or not subscribes(endpoint.enabled_events, event.type):
                continue
            body = body or sender.encode_event(render_event(event))
            planned.append(Planned(new_id("wd"), event, body, endpoint))
    return planned


Outcome = SendResult | TargetUnavailable | None  # None: the endpoint stayed busy (left to a job)


async def _send_all(ctx: JobContext, planned: list[Planned]) -> list[Outcome]:
    if not planned:
        return []
    now = utcnow()
    secrets: dict[str, list[str]] = {}  # each endpoint's secrets decrypted once per run

    async def send_one(item: Planned) -> Outcome:
        limit = ctx.settings.webhook_max_concurrency_per_endpoint
        async with target_slot(sender.TARGET_TYPE, item.endpoint.id, limit, queue=INLINE_WAITERS,
                               wait=ctx.settings.webhook_timeout_seconds) as acquired:
            if not acquired:
                return None
            try:
                keys = secrets.get(item.endpoint.id)
                if keys is None:
                    keys = secrets[item.endpoint.id] = sender.endpoint_secrets(item.endpoint, ctx.settings, now)
                return await sender.post_event(item.endpoint, keys, item.event.id, item.body, ctx.settings)
            except TargetUnavailable as exc:
                return exc
            except Exception as exc:  # a sender bug counts as a failed attempt
                return SendResult(False, None, 0, None, f"sender error: {type(exc).__name__}: {exc}"[:500])

    return list(await asyncio.gather(*(send_one(p) for p in planned)))


def _delivery_row(item: Planned, now: dt.datetime, **state: Any) -> dict[str, Any]:
    return {"id": item.delivery_id, "org_id": item.event.org_id, "livemode": item.event.livemode,
            "target_type": sender.TARGET_TYPE, "target_id": item.endpoint.id, "event_id": item.event.id,
            "event_type": item.event.type, "created_at": now, "updated_at": now, "last_status_code": None,
            "last_attempt_at": None, "last_error": None, "next_attempt_at": None, **state}


async def _record(ctx: JobContext, planned: list[Planned], results: list[Outcome], taken: list[str]) -> None:
    """One transaction: deliveries with their first attempt's outcome, attempts, retries, taken jobs done."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    failed: list[tuple[Planned, SendResult]] = []
    busy: list[Planned] = []
    cleared: set[str] = set()
    for item, result in zip(planned, results, strict=True):
        if isinstance(result, SendResult) and result.ok:
            rows.append(_delivery_row(item, now, status="succeeded", attempt_count=1, last_attempt_at=now,
                                      last_status_code=result.status_code))
            attempts.append(attempt_values(item.delivery_id, 1, result, now))
            if item.endpoint.failing_since is not None:
                cleared.add(item.endpoint.id)
        elif isinstance(result, TargetUnavailable):
            rows.append(_delivery_row(item, now, status="failed", attempt_count=0, last_error=str(result)))
        elif result is None:  # its own job makes the attempt shortly instead
            rows.append(_delivery_row(item, now, status="pending", attempt_count=0,
                                      next_attempt_at=now + dt.timedelta(seconds=BUSY_RETRY_SECONDS)))
            busy.append(item)
        else:  # a failed attempt: apply_result records it and schedules the next one
            rows.append(_delivery_row(item, now, status="pending", attempt_count=0, next_attempt_at=now))
            failed.append((item, result))
    if not rows and not taken:
        return
    async with ctx.db.session() as session, session.begin():
        if rows:
            await session.execute(insert(_DELIVERIES), rows)
        if attempts:
            await session.execute(insert(_ATTEMPTS), attempts)
        await sender.clear_failing(session, sorted(cleared))
        for item, result in failed:
            await apply_result(session, item.delivery_id, 1, result, ctx.settings, sender.endpoint_outcome)
        for item in busy:
            enqueue(session, JOB_KIND, {"delivery_id": item.delivery_id, "attempt": 1},
                    run_at=now + dt.timedelta(seconds=BUSY_RETRY_SECONDS), org_id=item.event.org_id)
        if taken:
            await session.execute(
                update(_JOBS).where(_JOBS.c.id.in_(bindparam("ids", expanding=True)),
                                    _JOBS.c.lease_owner == ctx.worker_id, _JOBS.c.status == "running")
                .values(status="succeeded", lease_expires_at=None, finished_at=now, updated_at=now,
                        result={"dispatched_by": ctx.job_id}), {"ids": taken})
