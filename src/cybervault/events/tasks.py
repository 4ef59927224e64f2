"""events.dispatch: fan an event out to every matching enabled webhook endpoint; events.prune: retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from cybervault.events.models import Event
from cybervault.jobs.registry import job_handler, periodic
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow
from cybervault.webhooks import fanout

PRUNE_BATCH = 5000


@job_handler(fanout.DISPATCH_KIND, max_attempts=10)
async def dispatch_event(ctx: JobContext) -> dict[str, Any]:
    """Deliveries for this event (and other queued ones, batched); first attempts are sent inline."""
    return await fanout.dispatch(ctx)


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
