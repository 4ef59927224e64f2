"""Incident rules: creation with inline triage, lifecycle transitions, comments, SLA breaches, events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.events.service import record_event
from cybervault.incidents.models import OPEN_STATUSES, Incident, IncidentComment, NotificationChannel, TimelineEntry
from cybervault.incidents.notify import notify_channels
from cybervault.incidents.render import render_incident
from cybervault.incidents.repository import ChannelRepository, IncidentRepository
from cybervault.incidents.schemas import CommentCreate, IncidentCreate, IncidentUpdate
from cybervault.incidents.triage import ACTOR as TRIAGE_ACTOR
from cybervault.incidents.triage import TriageInput, TriageOutcome, run_triage
from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import InvalidRequest
from cybervault.kit.ids import PREFIXES, new_id
from cybervault.kit.time import iso

# Forward moves, plus the two ways back a real investigation needs (containment failed; reopened).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("triaged", "investigating", "resolved"),
    "triaged": ("investigating", "contained", "resolved"),
    "investigating": ("contained", "resolved"),
    "contained": ("investigating", "resolved"),
    "resolved": ("closed", "investigating"),
    "closed": (),
}
GDPR_NOTIFICATION_WINDOW = dt.timedelta(hours=72)
SLA_BATCH = 500
MAX_COMMENT = 10_000


def add_timeline(session: AsyncSession, incident: Incident, type: str, actor: str, message: str,
                 data: dict[str, Any] | None = None, *, at: dt.datetime | None = None) -> TimelineEntry:
    entry = TimelineEntry(id=new_id(PREFIXES["timeline"]), org_id=incident.org_id, livemode=incident.livemode,
                          incident_id=incident.id, type=type, actor=actor, message=message, data=data or {},
                          created_at=at or utcnow())
    session.add(entry)
    return entry


async def emit(session: AsyncSession, incident: Incident, event_type: str, channels: list[NotificationChannel],
               extra: dict[str, Any] | None = None, *, rendered: dict[str, Any] | None = None) -> None:
    """Record the event (webhook endpoints get it from the event fan-out) and queue channel deliveries."""
    event = record_event(session, org_id=incident.org_id, livemode=incident.livemode, type=event_type,
                         obj=rendered or render_incident(incident), extra=extra)
    targets = notify_channels(session, channels, incident, event)
    if targets:
        add_timeline(session, incident, "notification.queued", "system:notify",
                     f"{event_type} queued for {len(targets)} channel(s).",
                     {"event": event.id, "channels": targets})


def _apply_triage(incident: Incident, outcome: TriageOutcome, *, keep_people: bool) -> None:
    incident.priority = outcome.priority
    incident.priority_score = outcome.score
    incident.triage = outcome.report
    incident.likely_duplicate_of = outcome.likely_duplicate_of
    incident.rule_channels = outcome.channels
    incident.acknowledge_by = outcome.acknowledge_by
    incident.resolve_by = outcome.resolve_by
    if not (keep_people and incident.assignee):
        incident.assignee = incident.assignee or outcome.assignee
    if not (keep_people and incident.team):
        incident.team = incident.team or outcome.team


async def create_incident(session: AsyncSession, principal: Principal, body: IncidentCreate) -> tuple[Incident, bool]:
    """Returns (incident, created). An open incident with the same external_id is returned instead."""
    repo = IncidentRepository(session, principal)
    if body.external_id:
        await _lock_external_id(session, principal, body.external_id)
        existing = await repo.open_by_external_id(body.external_id)
        if existing is not None:
            return existing, False
    now = utcnow()
    detected = body.detected_at or now
    data = TriageInput(title=body.title, description=body.description, severity=body.severity,
                       systems=body.affected_systems, personal_data_breach=body.personal_data_breach)
    outcome = await run_triage(session, principal, data, now=now)
    # Read channels before adding rows, so the whole create is flushed in one batch per table.
    channels = await ChannelRepository(session, principal).enabled()
    incident = Incident(
        id=new_id(PREFIXES["incident"]), title=body.title, description=body.description, severity=body.severity,
        status="open", priority=outcome.priority, priority_score=outcome.score,
        affected_systems=body.affected_systems, tags=body.tags, external_id=body.external_id,
        detected_at=detected, personal_data_breach=body.personal_data_breach,
        notify_authority_by=detected + GDPR_NOTIFICATION_WINDOW if body.personal_data_breach else None,
        triage={}, rule_channels=[], created_at=now, updated_at=now)
    _apply_triage(incident, outcome, keep_people=False)
    repo.add(incident)
    repo.add_keys(incident, outcome.keys)
    add_timeline(session, incident, "incident.created", principal.key_id,
                 f"Incident created with severity {body.severity}.",
                 {"severity": body.severity, "affected_systems": len(body.affected_systems),
                  "external_id": body.external_id}, at=now)
    for step in outcome.steps:
        add_timeline(session, incident, step.type, TRIAGE_ACTOR, step.message, step.data)
    if incident.notify_authority_by:
        add_timeline(session, incident, "gdpr.clock_started", TRIAGE_ACTOR,
                     f"Personal data breach: notify the supervisory authority by {iso(incident.notify_authority_by)}.",
                     {"notify_authority_by": iso(incident.notify_authority_by)})
    rendered = render_incident(incident)
    await emit(session, incident, "incident.created", channels, rendered=rendered)
    await emit(session, incident, "incident.triaged", channels, rendered=rendered)
    await session.flush()
    return incident, True


async def _lock_external_id(session: AsyncSession, principal: Principal, external_id: str) -> None:
    """Serialise creates that share an external_id, so two concurrent ones cannot both insert.

    PostgreSQL: a transaction-scoped advisory lock on the (org, mode, external_id) hash. SQLite already
    serialises writers (BEGIN IMMEDIATE), and this lookup runs inside the write transaction.
    """
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        key = f"incident-external-id:{principal.org_id}:{principal.livemode}:{external_id}"
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def check_transition(current: str, target: str) -> None:
    allowed = TRANSITIONS[current]
    if target != current and target not in allowed:
        listed = ", ".join(allowed) if allowed else "none (closed is final)"
        raise InvalidRequest(f"Cannot move an incident from '{current}' to '{target}'. Allowed from '{current}': "
                             f"{listed}.", param="status", extra={"allowed_statuses": list(allowed)})


async def update_incident(session: AsyncSession, principal: Principal, incident_id: str,
                          body: IncidentUpdate) -> Incident:
    repo = IncidentRepository(session, principal)
    incident = await repo.get(incident_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidRequest("Nothing to update: give at least one field.")
    for name in ("status", "severity"):
        if name in changes and changes[name] is None:
            raise InvalidRequest(f"'{name}' cannot be null.", param=name)
    if "status" in changes:
        check_transition(incident.status, changes["status"])
    now = utcnow()
    actor = principal.key_id
    previous: dict[str, Any] = {}

    def set_field(name: str, value: Any, message: str) -> None:
        old = getattr(incident, name)
        if old == value:
            return
        previous[name] = iso(old) if isinstance(old, dt.datetime) else old
        setattr(incident, name, value)
        add_timeline(session, incident, f"{name}.changed", actor, message,
                     {"from": previous[name], "to": iso(value) if isinstance(value, dt.datetime) else value})

    resolved_now = False
    if "status" in changes and changes["status"] != incident.status:
        new_status = changes["status"]
        old_status = incident.status
        set_field("status", new_status, f"Status changed from {old_status} to {new_status}.")
        if incident.acknowledged_at is None and old_status == "open":
            incident.acknowledged_at = now
        if new_status == "resolved":
            incident.resolved_at = now
            resolved_now = True
        elif new_status == "closed":
            incident.closed_at = now
        elif old_status == "resolved":  # reopened
            incident.resolved_at = None
    for name in ("assignee", "team"):
        if name in changes:
            value = changes[name] or None
            set_field(name, value, f"{name.capitalize()} set to {value}." if value else f"{name.capitalize()} cleared.")
    if "tags" in changes:
        set_field("tags", list(dict.fromkeys(changes["tags"] or [])), "Tags changed.")
    for name, label in (("root_cause", "Root cause"), ("lessons_learned", "Lessons learned")):
        if name in changes:
            set_field(name, changes[name], f"{label} recorded.")
    if "authority_notified_at" in changes:
        set_field("authority_notified_at", changes["authority_notified_at"],
                  "Supervisory authority notification recorded.")
    retriaged = False
    if "severity" in changes and changes["severity"] != incident.severity:
        set_field("severity", changes["severity"], f"Severity changed to {changes['severity']}; re-triaged.")
        data = TriageInput(title=incident.title, description=incident.description, severity=incident.severity,
                           systems=list(incident.affected_systems or []),
                           personal_data_breach=incident.personal_data_breach)
        outcome = await run_triage(session, principal, data, now=now, created_at=incident.created_at,
                                   exclude_id=incident.id)
        if outcome.priority != incident.priority:
            previous.setdefault("priority", incident.priority)
        _apply_triage(incident, outcome, keep_people=True)
        await repo.replace_keys(incident, outcome.keys)
        for step in outcome.steps:
            add_timeline(session, incident, step.type, TRIAGE_ACTOR, step.message, step.data)
        retriaged = True
    if not previous:
        return incident
    incident.updated_at = now
    channels = await ChannelRepository(session, principal).enabled()
    await emit(session, incident, "incident.updated", channels, {"previous_attributes": previous})
    if retriaged:
        await emit(session, incident, "incident.triaged", channels)
    if resolved_now:
        await emit(session, incident, "incident.resolved", channels)
    await session.flush()
    return incident


async def add_comment(session: AsyncSession, principal: Principal, incident_id: str,
                      body: CommentCreate) -> IncidentComment:
    text = (body.body or "").strip()
    if body.body is None:
        raise InvalidRequest("Missing required parameter 'body'.", param="body")
    if not 1 <= len(text) <= MAX_COMMENT:
        raise InvalidRequest(f"Invalid 'body': must be 1 to {MAX_COMMENT:,} characters.", param="body")
    incident = await IncidentRepository(session, principal).get(incident_id)
    comment = IncidentComment(id=new_id(PREFIXES["comment"]), org_id=incident.org_id, livemode=incident.livemode,
                              incident_id=incident.id, body=text, author=principal.key_id, created_at=utcnow())
    session.add(comment)
    add_timeline(session, incident, "comment.added", principal.key_id, text[:500], {"comment": comment.id})
    await session.flush()
    return comment


async def detect_sla_breaches(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Mark open incidents past a deadline (once per deadline) and record incident.sla_breached."""
    now = now or utcnow()
    ack_due = and_(Incident.status == "open", Incident.acknowledged_at.is_(None), Incident.acknowledge_by < now,
                   Incident.acknowledge_breached_at.is_(None))
    resolve_due = and_(Incident.status.in_(OPEN_STATUSES), Incident.resolve_by < now,
                       Incident.resolve_breached_at.is_(None))
    stmt = select(Incident).where(or_(ack_due, resolve_due)).order_by(Incident.id).limit(SLA_BATCH)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    incidents = (await session.scalars(stmt)).all()
    channels_by_tenant: dict[tuple[str, bool], list[NotificationChannel]] = {}
    for incident in incidents:
        key = (incident.org_id, incident.livemode)
        if key not in channels_by_tenant:
            principal = Principal(org_id=incident.org_id, livemode=incident.livemode, key_id="system", kind="sk")
            channels_by_tenant[key] = await ChannelRepository(session, principal).enabled()
        breaches = []
        if (incident.status == "open" and incident.acknowledged_at is None and incident.acknowledge_by
                and incident.acknowledge_by < now and incident.acknowledge_breached_at is None):
            incident.acknowledge_breached_at = now
            breaches.append(("acknowledge", incident.acknowledge_by))
        if incident.resolve_by and incident.resolve_by < now and incident.resolve_breached_at is None:
            incident.resolve_breached_at = now
            breaches.append(("resolve", incident.resolve_by))
        incident.updated_at = now
        for kind, deadline in breaches:
            add_timeline(session, incident, "sla.breached", "system:sla",
                         f"{kind.capitalize()} deadline {iso(deadline)} passed ({incident.priority}).",
                         {"sla": kind, "deadline": iso(deadline)}, at=now)
            await emit(session, incident, "incident.sla_breached", channels_by_tenant[key],
                       {"sla_breach": kind, "deadline": iso(deadline)})
    await session.flush()
    return len(incidents)
