"""Microsoft Teams through a Workflows (Power Automate) URL: an Adaptive Card in `attachments`."""

from __future__ import annotations

from typing import Any

from cybervault.config import Settings
from cybervault.incidents.channels.base import SendResult, dumps, incident_view, post_json, systems_text

SEVERITY_STYLE = {"critical": "attention", "high": "attention", "medium": "warning", "low": "accent"}


def format_teams(event: dict[str, Any], settings: Settings) -> dict[str, Any]:
    v = incident_view(event, settings)
    facts = [{"title": "Severity", "value": v.severity}, {"title": "Priority", "value": v.priority or "n/a"},
             {"title": "Status", "value": v.status or "n/a"},
             {"title": "Affected systems", "value": systems_text(v)},
             {"title": "Assignee", "value": v.assignee or "unassigned"}, {"title": "Incident", "value": v.id}]
    if v.breach:
        facts.append({"title": "SLA breached", "value": v.breach})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": v.event_title, "weight": "Bolder", "size": "Medium",
             "color": SEVERITY_STYLE.get(v.severity, "default")},
            {"type": "TextBlock", "text": v.title, "wrap": True, "weight": "Bolder"},
            {"type": "FactSet", "facts": facts},
            {"type": "TextBlock", "text": v.description[:1000], "wrap": True, "isSubtle": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open incident", "url": v.link}],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


async def send_teams(url: str, event: dict[str, Any], settings: Settings) -> SendResult:
    return await post_json(url, dumps(format_teams(event, settings)), {}, settings)
