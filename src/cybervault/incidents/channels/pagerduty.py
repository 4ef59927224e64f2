"""PagerDuty Events API v2: trigger on creation (and on later alerts), resolve on resolution.

`dedup_key` is the incident id, so every event about one incident lands on one PagerDuty alert.
"""

from __future__ import annotations

from typing import Any

from cybervault.config import Settings
from cybervault.incidents.channels.base import SendResult, dumps, incident_view, post_json

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY_MAP = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}


def event_action(event_type: str, status: str) -> str | None:
    """What a CyberVault event means for the PagerDuty alert (None: nothing to send)."""
    if event_type == "incident.resolved" or status in ("resolved", "closed"):
        return "resolve"
    if event_type in ("incident.created", "incident.sla_breached", "notification_channel.test"):
        return "trigger"
    if event_type == "incident.updated" and status == "investigating":
        return "acknowledge"
    return None


def format_pagerduty(event: dict[str, Any], routing_key: str, settings: Settings) -> dict[str, Any] | None:
    v = incident_view(event, settings)
    action = event_action(v.event_type, v.status)
    if action is None:
        return None
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action, "dedup_key": v.id[:255]}
    if action == "trigger":
        summary = f"[{v.priority}] {v.title}" if v.priority else v.title
        if v.breach:
            summary = f"SLA breached ({v.breach}): {summary}"
        body["payload"] = {
            "summary": summary[:1024],
            "source": (v.systems[0] if v.systems else "cybervault")[:255],
            "severity": SEVERITY_MAP.get(v.severity, "warning"),
            "timestamp": event.get("created") or v.created,
            "component": ", ".join(v.systems[:5])[:255] or None,
            "group": v.team,
            "class": "security_incident",
            "custom_details": {"incident_id": v.id, "priority": v.priority, "status": v.status,
                               "affected_systems": v.systems[:50], "assignee": v.assignee,
                               "description": v.description[:2000], "event_type": v.event_type},
        }
        body["payload"] = {k: val for k, val in body["payload"].items() if val is not None}
        body["links"] = [{"href": v.link, "text": "Incident in CyberVault"}]
    return body


async def send_pagerduty(routing_key: str, events_url: str | None, event: dict[str, Any],
                         settings: Settings) -> SendResult:
    payload = format_pagerduty(event, routing_key, settings)
    if payload is None:  # e.g. a comment-only update: nothing to tell PagerDuty
        return SendResult(True, None, 0, "skipped: no PagerDuty action for this event", None)
    return await post_json(events_url or DEFAULT_EVENTS_URL, dumps(payload), {}, settings)
