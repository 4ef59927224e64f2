"""Slack incoming webhooks: a Block Kit message (plus `text` as the notification fallback)."""

from __future__ import annotations

from typing import Any

from cybervault.config import Settings
from cybervault.incidents.channels.base import SendResult, dumps, incident_view, post_json, systems_text

SEVERITY_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                  "low": ":large_blue_circle:"}


def format_slack(event: dict[str, Any], settings: Settings) -> dict[str, Any]:
    v = incident_view(event, settings)
    emoji = SEVERITY_EMOJI.get(v.severity, ":white_circle:")
    headline = f"{v.event_title}: {v.title}"[:150]
    fields = [
        {"type": "mrkdwn", "text": f"*Severity*\n{emoji} {v.severity}"},
        {"type": "mrkdwn", "text": f"*Priority*\n{v.priority or 'n/a'}"},
        {"type": "mrkdwn", "text": f"*Status*\n{v.status or 'n/a'}"},
        {"type": "mrkdwn", "text": f"*Assignee*\n{v.assignee or 'unassigned'}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline, "emoji": True}},
        {"type": "section", "fields": fields},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Affected systems*\n{systems_text(v)}"[:3000]}},
    ]
    if v.breach:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": f":alarm_clock: *SLA breached:* {v.breach}"}})
    blocks.append({"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": v.link[:3000],
         "action_id": "open_incident"}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{v.id} · <{v.link}|{v.link}>"}]})
    text = f"{v.event_title} [{v.severity}/{v.priority}] {v.title} — {v.link}"
    return {"text": text, "blocks": blocks}


async def send_slack(url: str, event: dict[str, Any], settings: Settings) -> SendResult:
    return await post_json(url, dumps(format_slack(event, settings)), {}, settings)
