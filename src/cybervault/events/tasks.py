"""events.dispatch: fan an event out to every matching enabled webhook endpoint; events.prune: retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from cybervault.events.models import Event
from cybervault.jobs.registry import job_handler, periodic
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow
from cybervault.webhooks.delivery import enqueue_delivery
from cybervault.webhooks.models import Delivery, WebhookEndpoint
from cybervault.webhooks.service import subscribes

PRUNE_BATCH = 5000


@job_handler("events.dispatch", max_attempts=10)
async def dispatch_event(ctx: JobContext) -> dict[str, Any]:
    event_id = str(ctx.payload["event_id"])
    async with ctx.db.session() as session, session.begin():
        event = await session.get(Event, event_id)
        if event is None:
            return {"deliveries": 0, "skipped": "no such event"}
        if event.type == "webhook.test":
            return {"deliveries": 0, "skipped": "test events are delivered to their one endpoint directly"}
        endpoints = (await session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.org_id == event.org_id,
                                          WebhookEndpoint.livemode == event.livemode,
                                          WebhookEndpoint.status == "enabled"))).all()
        # A crashed earlier run may have committed some deliveries already: do not duplicate them.
        done = set((await session.scalars(
            select(Delivery.target_id).where(Delivery.event_id == event.id,
                                             Delivery.target_type == "webhook_endpoint"))).all())
        count = 0
        for endpoint in endpoints:
            if endpoint.id in done or not subscribes(endpoint.enabled_events, event.type):
                continue
            enqueue_delivery(session, org_id=event.org_id, livemode=event.livemode, target_type="webhook_endpoint",
                             target_id=endpoint.id, event_id=event.id, event_type=event.type)
            count += 1
    return {"deliveries": count}


@job_handler("events.prune", max_attempts=3)
async def prune_events(ctx: JobContext) -> dict[str, Any]:
    """Delete events older than settings.event_retention_days, in batches."""
    cutoff = utcnow() - dt.timedelta(days=ctx.settings.event_retention_days)
    removed = 0
    while True:
        async with ctx.db.session() as session, session.begin():
            ids = list((await session.scalars(select(Event.id).where(Event.created_at < cutoff)
                                              .limit(PRUNE_BATCH))).all())
            if not ids:
                return {"deleted": removed}
            await session.execute(delete(Event).where(Event.id.in_(ids)))
            removed += len(ids)


periodic("events.prune", 3600)
