"""Recording domain events. Fan-out to webhook endpoints happens in a job after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.events.models import Event
from cybervault.jobs.service import enqueue
from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id
from cybervault.kit.time import iso

EVENT_TYPES = (
    "scan.completed", "scan.failed", "threat.detected",
    "incident.created", "incident.triaged", "incident.updated", "incident.resolved", "incident.sla_breached",
    "compliance.changed", "webhook.test",
)


def record_event(
    session: AsyncSession, *, org_id: str, livemode: bool, type: str, obj: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the caller's transaction; `obj` is the API representation of the object."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    data: dict[str, Any] = {"object": obj}
    if extra:
        data.update(extra)
    event = Event(id=new_id("evt"), org_id=org_id, livemode=livemode, type=type, data=data, created_at=utcnow())
    session.add(event)
    enqueue(session, "events.dispatch", {"event_id": event.id}, org_id=org_id)
    return event


def render_event(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created": iso(event.created_at),
        "livemode": event.livemode,
        "data": event.data,
    }
