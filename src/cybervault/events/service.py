"""Recording domain events. Fan-out to webhook endpoints happens in a job after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.events.models import Event
from cybervault.jobs.models import Job
from cybervault.jobs.service import enqueue
from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id
from cybervault.kit.time import iso

EVENT_TYPES = (
    "scan.completed", "scan.failed", "threat.detected",
    "incident.created", "incident.triaged", "incident.updated", "incident.resolved", "incident.sla_breached",
    "compliance.changed", "webhook.test",
)
DISPATCH_KIND = "events.dispatch"
EVENTS_PER_DISPATCH_JOB = 50
_DISPATCH_JOB = "cybervault_event_dispatch_job"  # session.info key of the open _OpenDispatch


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
    _add_to_dispatch_job(session, event)
    return event


@dataclass
class _OpenDispatch:
    """The dispatch job of the session's current transaction. Its ids are kept here, never read back from
    the job: after a savepoint rollback the job's attributes are expired and reading them would be IO."""

    transaction: Any
    job: Job
    event_ids: list[str]
    org_id: str | None


def _add_to_dispatch_job(session: AsyncSession, event: Event) -> None:
    """Events recorded in one transaction share one dispatch job, so one broker message and one claim
    serve them all (a sweep over many incidents, a batch import). The job commits with the events."""
    sync = session.sync_session
    transaction = sync.get_transaction()
    current: _OpenDispatch | None = sync.info.get(_DISPATCH_JOB)
    if (current is not None and current.transaction is transaction and current.job in sync
            and len(current.event_ids) < EVENTS_PER_DISPATCH_JOB):
        current.event_ids.append(event.id)
        if current.org_id != event.org_id:
            current.org_id = current.job.org_id = None  # events of several organizations
        current.job.payload = {"event_ids": list(current.event_ids)}  # a new dict: a flushed job is updated
        return
    job = enqueue(session, DISPATCH_KIND, {"event_ids": [event.id]}, org_id=event.org_id)
    sync.info[_DISPATCH_JOB] = _OpenDispatch(transaction, job, [event.id], event.org_id)


def dispatch_event_ids(payload: dict[str, Any]) -> list[str]:
    """The events of a dispatch job ({"event_ids": [...]}; jobs written before grouping: {"event_id"})."""
    if "event_ids" in payload:
        return [str(i) for i in payload["event_ids"]]
    return [str(payload["event_id"])]


def render_event(event: Event | Row[Any]) -> dict[str, Any]:
    """The event as the API and webhook receivers see it (from the model or a row of its columns)."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created": iso(event.created_at),
        "livemode": event.livemode,
        "data": event.data,
    }
