"""Background work: the notification_channel sender for the shared delivery engine, and SLA breach detection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.incidents.channel_service import decrypt_credentials
from cybervault.incidents.channels import send_to_channel
from cybervault.incidents.models import NotificationChannel
from cybervault.incidents.notify import TARGET_TYPE
from cybervault.incidents.service import detect_sla_breaches
from cybervault.jobs.registry import job_handler, periodic
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow
from cybervault.webhooks.delivery import SendContext, SendResult, TargetUnavailable, register_sender
from cybervault.webhooks.models import Delivery

SLA_CHECK_SECONDS = 60


async def send_notification(ctx: SendContext) -> SendResult:
    delivery = ctx.delivery
    async with ctx.session() as session:
        channel = (await session.scalars(select(NotificationChannel).where(
            NotificationChannel.id == delivery.target_id, NotificationChannel.org_id == delivery.org_id,
            NotificationChannel.livemode == delivery.livemode))).first()
    if channel is None:
        raise TargetUnavailable("The notification channel was deleted.")
    if channel.status != "enabled":
        raise TargetUnavailable(f"The notification channel is disabled ({channel.disabled_reason or 'by the user'}).")
    credentials = decrypt_credentials(ctx.settings, channel)
    return await send_to_channel(channel.type, dict(channel.config or {}), credentials, ctx.event, delivery.id,
                                 ctx.settings)


async def on_channel_result(session: AsyncSession, delivery: Delivery, result: SendResult) -> None:
    """410 Gone from a channel URL disables the channel at once, as for webhook endpoints."""
    if not result.gone:
        return
    channel = await session.get(NotificationChannel, delivery.target_id)
    if channel is not None and channel.status == "enabled":
        channel.status = "disabled"
        channel.disabled_reason = "The receiver answered 410 Gone."
        channel.updated_at = utcnow()


register_sender(TARGET_TYPE, send_notification, on_result=on_channel_result)


@job_handler("incidents.sla_check", max_attempts=3)
async def sla_check(ctx: JobContext) -> dict[str, Any]:
    async with ctx.db.session() as session:
        found = await detect_sla_breaches(session)
        await session.commit()
    return {"breached": found}


periodic("incidents.sla_check", SLA_CHECK_SECONDS)
