"""events.dispatch, batched: fan out many events at once and make the first attempts inline.

The generic path costs, per delivery, a job that is claimed, leased and finished through the
database before and after the HTTP call. Here one dispatch job also takes the other queued dispatch
jobs (completing them in the same transaction that writes their deliveries), then sends the first
attempts itself and records them in one transaction. Each delivery still gets its first-attempt job,
due only after a grace period: if this worker dies before recording, that job makes the attempt
through the normal path, so nothing is lost (at worst it is sent twice — at-least-once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.events.models import Event
from cybervault.events.service import render_event
from cybervault.jobs.models import Job
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow
from cybervault.webhooks import sender
from cybervault.webhooks.delivery import (
    SendContext,
    SendResult,
    TargetUnavailable,
    add_delivery,
    apply_result,
    attempt_row,
    fail_without_attempt,
    target_slot,
)
from cybervault.webhooks.models import Delivery, WebhookEndpoint
from cybervault.webhooks.service import subscribes

DISPATCH_KIND = "events.dispatch"
BATCH = 100


@dataclass
class Planned:
    delivery: Delivery
    job_id: str
    event: dict[str, Any]
    endpoint: WebhookEndpoint


async def dispatch(ctx: JobContext) -> dict[str, Any]:
    now = utcnow()
    grace = dt.timedelta(seconds=max(ctx.settings.job_lease_seconds, ctx.settings.webhook_timeout_seconds) + 5)
    async with ctx.db.session() as session, session.begin():
        event_ids = [str(ctx.payload["event_id"]), *await _take_queued_dispatches(session, ctx, now)]
        events = [e for e in (await session.scalars(select(Event).where(Event.id.in_(event_ids)))).all()
                  if e.type != "webhook.test"]  # test events go to their one endpoint (webhooks.service)
        planned = await _plan(session, sorted(events, key=lambda e: e.id), now + grace)
    if planned:
        await _send_inline(ctx, planned)
    return {"events": len(event_ids), "deliveries": len(planned)}


async def _take_queued_dispatches(session: AsyncSession, ctx: JobContext, now: dt.datetime) -> list[str]:
    """Complete other due dispatch jobs in this transaction; returns their event ids."""
    stmt = (select(Job.id, Job.payload)
            .where(Job.kind == DISPATCH_KIND, Job.status == "queued", Job.run_at <= now, Job.id != ctx.job_id)
            .order_by(Job.run_at).limit(BATCH - 1))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # never wait on a job another worker is claiming
    rows = (await session.execute(stmt)).all()
    if not rows:
        return []
    await session.execute(
        update(Job).where(Job.id.in_([r.id for r in rows]), Job.status == "queued")
        .values(status="succeeded", attempts=Job.attempts + 1, lease_owner=ctx.worker_id, finished_at=now,
                updated_at=now, result={"dispatched_by": ctx.job_id})
        .execution_options(synchronize_session=False))
    return [str(r.payload["event_id"]) for r in rows]


async def _plan(session: AsyncSession, events: list[Event], first_run_at: dt.datetime) -> list[Planned]:
    if not events:
        return []
    endpoints = (await session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.org_id.in_({e.org_id for e in events}), WebhookEndpoint.status == "enabled"))).all()
    tenants: dict[tuple[str, bool], list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in endpoints:
        tenants[(endpoint.org_id, endpoint.livemode)].append(endpoint)
    # A crashed earlier run may have committed some deliveries already: do not duplicate them.
    existing = set((await session.execute(select(Delivery.event_id, Delivery.target_id).where(
        Delivery.event_id.in_([e.id for e in events]), Delivery.target_type == sender.TARGET_TYPE))).all())
    planned: list[Planned] = []
    for event in events:
        rendered: dict[str, Any] | None = None
        for endpoint in tenants[(event.org_id, event.livemode)]:
            if (event.id, endpoint.id) in existing or not subscribes(endpoint.enabled_events, event.type):
                continue
            rendered = rendered or render_event(event)
            delivery, job = add_delivery(session, org_id=event.org_id, livemode=event.livemode,
                                         target_type=sender.TARGET_TYPE, target_id=endpoint.id, event_id=event.id,
                                         event_type=event.type, first_run_at=first_run_at)
            planned.append(Planned(delivery, job.id, rendered, endpoint))
    return planned


async def _send_one(ctx: JobContext, item: Planned) -> SendResult | TargetUnavailable | None:
    """The attempt's result, TargetUnavailable, or None when the endpoint stayed busy (left to its job)."""
    limit = ctx.settings.webhook_max_concurrency_per_endpoint
    async with target_slot(sender.TARGET_TYPE, item.endpoint.id, limit, queue=BATCH,
                           wait=ctx.settings.webhook_timeout_seconds) as acquired:
        if not acquired:
            return None
        try:
            return await sender.send_to_endpoint(
                SendContext(item.delivery, item.event, ctx.settings, ctx.db, 1, target=item.endpoint))
        except TargetUnavailable as exc:
            return exc
        except Exception as exc:  # a sender bug counts as a failed attempt
            return SendResult(False, None, 0, None, f"sender error: {type(exc).__name__}: {exc}"[:500])


async def _send_inline(ctx: JobContext, planned: list[Planned]) -> None:
    outcomes = list(zip(planned, await asyncio.gather(*(_send_one(ctx, p) for p in planned)), strict=True))
    now = utcnow()
    ok = [(p, r) for p, r in outcomes if isinstance(r, SendResult) and r.ok]
    async with ctx.db.session() as session, session.begin():
        if ok:
            session.add_all([attempt_row(p.delivery.id, 1, r, now) for p, r in ok])
            table = Delivery.__table__
            await session.execute(
                update(table).where(table.c.id == bindparam("b_id"), table.c.status == "pending",
                                    table.c.attempt_count < 1)
                .values(status="succeeded", attempt_count=1, last_attempt_at=now, last_status_code=bindparam("b_code"),
                        last_error=None, next_attempt_at=None, updated_at=now),
                [{"b_id": p.delivery.id, "b_code": r.status_code} for p, r in ok])
            await sender.clear_failing(session, sorted({p.endpoint.id for p, _ in ok
                                                        if p.endpoint.failing_since is not None}))
        for item, result in outcomes:
            if isinstance(result, TargetUnavailable):
                await fail_without_attempt(session, item.delivery.id, str(result))
            elif isinstance(result, SendResult) and not result.ok:
                await apply_result(session, item.delivery.id, 1, result, ctx.settings, sender.endpoint_outcome)
        done = [p.job_id for p, r in outcomes if r is not None]
        busy = [p.job_id for p, r in outcomes if r is None]
        if done:
            await session.execute(update(Job).where(Job.id.in_(done), Job.status == "queued").values(
                status="succeeded", attempts=Job.attempts + 1, finished_at=now, updated_at=now,
                result={"sent_inline_by": ctx.job_id}).execution_options(synchronize_session=False))
        if busy:  # its own job makes the attempt shortly instead
            await session.execute(update(Job).where(Job.id.in_(busy), Job.status == "queued")
                                  .values(run_at=now + dt.timedelta(seconds=0.5), updated_at=now)
                                  .execution_options(synchronize_session=False))
