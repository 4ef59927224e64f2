"""Which channels hear about an incident event, and handing each one to the shared delivery engine."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.events.models import Event
from cybervault.incidents.models import Incident, NotificationChannel
from cybervault.incidents.schemas import PRIORITIES, SEVERITIES
from cybervault.webhooks.delivery import enqueue_delivery

TARGET_TYPE = "notification_channel"
# Channels created without event_types hear about these (triage and plain updates are frequent).
DEFAULT_EVENT_TYPES = ("incident.created", "incident.resolved", "incident.sla_breached")
MAX_CHANNELS = 100


def channel_wants(channel: NotificationChannel, incident: Incident, event_type: str) -> bool:
    if channel.status != "enabled":
        return False
    wanted = channel.event_types or list(DEFAULT_EVENT_TYPES)
    if "*" not in wanted and event_type not in wanted:
        return False
    if channel.id in (incident.rule_channels or []):
        return True  # a triage rule routed this incident here: the channel's minimums do not apply
    if channel.min_severity and SEVERITIES.index(incident.severity) < SEVERITIES.index(channel.min_severity):
        return False
    return not (channel.min_priority and PRIORITIES.index(incident.priority) > PRIORITIES.index(channel.min_priority))


def notify_channels(session: AsyncSession, channels: list[NotificationChannel], incident: Incident,
                    event: Event) -> list[str]:
    """Create one delivery per interested channel in the caller's transaction; the jobs run after commit,
    so an unreachable channel never delays or fails the request that caused the event."""
    targets = [c.id for c in channels[:MAX_CHANNELS] if channel_wants(c, incident, event.type)]
    for channel_id in targets:
        enqueue_delivery(session, org_id=incident.org_id, livemode=incident.livemode, target_type=TARGET_TYPE,
                         target_id=channel_id, event_id=event.id, event_type=event.type)
    return targets
