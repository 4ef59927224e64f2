"""Notification channel senders, one module per channel type, dispatched by `send_to_channel`."""

from __future__ import annotations

from typing import Any

from cybervault.config import Settings
from cybervault.incidents.channels.base import SendResult
from cybervault.incidents.channels.email import send_email
from cybervault.incidents.channels.pagerduty import send_pagerduty
from cybervault.incidents.channels.slack import send_slack
from cybervault.incidents.channels.teams import send_teams
from cybervault.incidents.channels.webhook import send_webhook

__all__ = ["SendResult", "send_to_channel"]


async def send_to_channel(channel_type: str, config: dict[str, Any], credentials: dict[str, Any],
                          event: dict[str, Any], msg_id: str, settings: Settings) -> SendResult:
    if channel_type == "webhook":
        return await send_webhook(config["url"], credentials["secret"], event, msg_id, settings)
    if channel_type == "slack":
        return await send_slack(credentials["url"], event, settings)
    if channel_type == "teams":
        return await send_teams(credentials["url"], event, settings)
    if channel_type == "pagerduty":
        return await send_pagerduty(credentials["routing_key"], config.get("events_url"), event, settings)
    if channel_type == "email":
        return await send_email(config, credentials.get("smtp_password"), event, settings)
    return SendResult(False, None, 0, None, f"unknown channel type {channel_type!r}")
