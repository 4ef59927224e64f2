"""Job handlers: one delivery attempt, and pruning old delivery history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from cybervault.jobs.registry import job_handler, periodic
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow
from cybervault.webhooks import sender
from cybervault.webhooks.delivery import JOB_KIND, register_sender, run_delivery_job
from cybervault.webhooks.models import Delivery, DeliveryAttempt

register_sender(sender.TARGET_TYPE, sender.send_to_endpoint, on_result=sender.endpoint_outcome)
PRUNE_BATCH = 2000


@job_handler(JOB_KIND, max_attempts=10)
async def send_delivery(ctx: JobContext) -> dict[str, Any]:
    return await run_delivery_job(ctx)


@job_handler("deliveries.prune", max_attempts=3)
async def prune_deliveries(ctx: JobContext) -> dict[str, Any]:
    """Delivery history is kept as long as events are (settings.event_retention_days)."""
    cutoff = utcnow() - dt.timedelta(days=ctx.settings.event_retention_days)
    removed = 0
    while True:
        async with ctx.db.session() as session, session.begin():
            ids = list((await session.scalars(
                select(Delivery.id).where(Delivery.created_at < cutoff, Delivery.status != "pending")
                .limit(PRUNE_BATCH))).all())
            if not ids:
                return {"deleted": removed}
            await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)))
            await session.execute(delete(Delivery).where(Delivery.id.in_(ids)))
            removed += len(ids)


periodic("deliveries.prune", 3600)
