"""API representations. Channel credentials are never rendered in full: only their last four characters."""

from __future__ import annotations

from typing import Any

from cybervault.incidents.models import Incident, IncidentComment, NotificationChannel, TimelineEntry, TriageRule
from cybervault.kit.time import iso

SECRET_FIELDS = {"webhook": ("secret",), "slack": ("url",), "teams": ("url",), "pagerduty": ("routing_key",),
                 "email": ("smtp_password",)}


def mask(value: str | None) -> str | None:
    if not value:
        return None
    return "••••" + value[-4:] if len(value) > 4 else "••••"


def render_incident(inc: Incident) -> dict[str, Any]:
    return {
        "id": inc.id,
        "object": "incident",
        "livemode": inc.livemode,
        "title": inc.title,
        "description": inc.description,
        "severity": inc.severity,
        "status": inc.status,
        "priority": inc.priority,
        "priority_score": inc.priority_score,
        "affected_systems": list(inc.affected_systems or []),
        "tags": list(inc.tags or []),
        "external_id": inc.external_id,
        "assignee": inc.assignee,
        "team": inc.team,
        "likely_duplicate_of": inc.likely_duplicate_of,
        "detected_at": iso(inc.detected_at),
        "acknowledge_by": iso(inc.acknowledge_by),
        "resolve_by": iso(inc.resolve_by),
        "acknowledged_at": iso(inc.acknowledged_at),
        "resolved_at": iso(inc.resolved_at),
        "closed_at": iso(inc.closed_at),
        "sla_breached": bool(inc.acknowledge_breached_at or inc.resolve_breached_at),
        "acknowledge_breached_at": iso(inc.acknowledge_breached_at),
        "resolve_breached_at": iso(inc.resolve_breached_at),
        "personal_data_breach": inc.personal_data_breach,
        "notify_authority_by": iso(inc.notify_authority_by),
        "authority_notified_at": iso(inc.authority_notified_at),
        "root_cause": inc.root_cause,
        "lessons_learned": inc.lessons_learned,
        "triage": inc.triage or {},
        "created": iso(inc.created_at),
        "updated": iso(inc.updated_at),
    }


def render_comment(comment: IncidentComment) -> dict[str, Any]:
    return {"id": comment.id, "object": "incident_comment", "livemode": comment.livemode,
            "incident": comment.incident_id, "body": comment.body, "author": comment.author,
            "created": iso(comment.created_at)}


def render_timeline_entry(entry: TimelineEntry) -> dict[str, Any]:
    return {"id": entry.id, "object": "incident_timeline_entry", "livemode": entry.livemode,
            "incident": entry.incident_id, "type": entry.type, "actor": entry.actor, "message": entry.message,
            "data": entry.data or {}, "created": iso(entry.created_at)}


def render_channel(channel: NotificationChannel, credentials: dict[str, Any] | None = None,
                   *, reveal: tuple[str, ...] = ()) -> dict[str, Any]:
    """`credentials` are the decrypted secrets; only fields in `reveal` (a new webhook secret) show in full."""
    out: dict[str, Any] = {
        "id": channel.id,
        "object": "notification_channel",
        "livemode": channel.livemode,
        "type": channel.type,
        "name": channel.name,
        "status": channel.status,
        "disabled_reason": channel.disabled_reason,
        "min_severity": channel.min_severity,
        "min_priority": channel.min_priority,
        "event_types": list(channel.event_types or []),
    }
    out.update(channel.config or {})
    for name in SECRET_FIELDS.get(channel.type, ()):
        value = (credentials or {}).get(name)
        out[name] = value if name in reveal else mask(value)
    out["created"] = iso(channel.created_at)
    out["updated"] = iso(channel.updated_at)
    return out


def render_rule(rule: TriageRule) -> dict[str, Any]:
    return {"id": rule.id, "object": "triage_rule", "livemode": rule.livemode, "name": rule.name,
            "position": rule.position, "enabled": rule.enabled, "conditions": rule.conditions or {},
            "actions": rule.actions or {}, "stop_processing": rule.stop_processing,
            "created": iso(rule.created_at), "updated": iso(rule.updated_at)}
