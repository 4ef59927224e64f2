"""What every channel sender shares: the delivery engine's result type and HTTP client, and the facts
about an incident that every message shows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cybervault.config import Settings
from cybervault.webhooks.delivery import SendResult
from cybervault.webhooks.http import post_json
from cybervault.webhooks.ssrf import check_url as _engine_check_url

__all__ = ["SendResult", "check_url", "post_json"]

SEVERITY_COLORS = {"critical": "#B3261E", "high": "#E8590C", "medium": "#F2C94C", "low": "#2F80ED"}
EVENT_TITLES = {
    "incident.created": "New incident",
    "incident.triaged": "Incident triaged",
    "incident.updated": "Incident updated",
    "incident.resolved": "Incident resolved",
    "incident.sla_breached": "Incident SLA breached",
    "notification_channel.test": "Test notification",
}


@dataclass(frozen=True)
class IncidentView:
    """The fields messages show, read from an event's `data.object`."""

    id: str
    title: str
    severity: str
    priority: str
    status: str
    systems: list[str]
    description: str
    assignee: str | None
    team: str | None
    link: str
    event_type: str
    event_title: str
    created: str | None
    breach: str | None


def incident_view(event: dict[str, Any], settings: Settings) -> IncidentView:
    obj = (event.get("data") or {}).get("object") or {}
    inc_id = str(obj.get("id", ""))
    event_type = str(event.get("type", ""))
    breach = (event.get("data") or {}).get("sla_breach")
    return IncidentView(
        id=inc_id, title=str(obj.get("title", "")), severity=str(obj.get("severity", "medium")),
        priority=str(obj.get("priority", "")), status=str(obj.get("status", "")),
        systems=[str(s) for s in obj.get("affected_systems") or []],
        description=str(obj.get("description", "")), assignee=obj.get("assignee"), team=obj.get("team"),
        link=f"{settings.public_base_url}/v1/incidents/{inc_id}", event_type=event_type,
        event_title=EVENT_TITLES.get(event_type, event_type), created=obj.get("created"),
        breach=str(breach) if breach else None)


def systems_text(view: IncidentView, limit: int = 10) -> str:
    if not view.systems:
        return "none listed"
    shown = ", ".join(view.systems[:limit])
    return shown + (f" and {len(view.systems) - limit} more" if len(view.systems) > limit else "")


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def check_url(url: str, settings: Settings) -> None:
    """The delivery engine's SSRF guard (raises UnsafeUrl, param "url")."""
    await _engine_check_url(url, settings.webhook_allowed_networks)
