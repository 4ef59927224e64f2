"""Notification channel rules: per-type fields, SSRF checks, encrypted credentials, test messages."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.incidents.channels import send_to_channel
from cybervault.incidents.channels.base import SendResult, check_url
from cybervault.incidents.models import NotificationChannel
from cybervault.incidents.notify import DEFAULT_EVENT_TYPES
from cybervault.incidents.render import render_channel
from cybervault.incidents.repository import ChannelDeliveryRepository, ChannelRepository
from cybervault.incidents.schemas import CHANNEL_FIELDS, REQUIRED_FIELDS, ChannelCreate, ChannelUpdate
from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import InvalidRequest, UnsafeUrl
from cybervault.kit.ids import PREFIXES, new_id
from cybervault.kit.pagination import PageParams
from cybervault.kit.time import iso
from cybervault.webhooks.crypto import decrypt_text, encrypt_text
from cybervault.webhooks.service import render_delivery as engine_render_delivery
from cybervault.webhooks.signing import generate_secret

PURPOSE = "notification_channels"
DEFAULT_SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def encrypt_credentials(settings: Settings, credentials: dict[str, Any]) -> str:
    return encrypt_text(settings.encryption_key, json.dumps(credentials), purpose=PURPOSE)


def decrypt_credentials(settings: Settings, channel: NotificationChannel) -> dict[str, Any]:
    if not channel.credentials_encrypted:
        return {}
    return dict(json.loads(decrypt_text(settings.encryption_key, channel.credentials_encrypted, purpose=PURPOSE)))


def _check_fields(channel_type: str, given: dict[str, Any], *, creating: bool) -> None:
    allowed = CHANNEL_FIELDS[channel_type]
    for name in sorted(given):
        if name not in allowed:
            raise InvalidRequest(f"'{name}' does not apply to {channel_type} channels; they take: "
                                 f"{', '.join(allowed)}.", param=name)
    if creating:
        for name in REQUIRED_FIELDS[channel_type]:
            if name not in given:
                raise InvalidRequest(f"{channel_type} channels need '{name}'.", param=name)


async def _guard(url: str, settings: Settings, param: str) -> None:
    try:
        await check_url(url, settings)
    except UnsafeUrl as exc:
        raise UnsafeUrl(exc.message, param=param) from None


async def _merge(channel: NotificationChannel, given: dict[str, Any], credentials: dict[str, Any],
                 settings: Settings) -> None:
    """Apply type-specific fields: non-secret parts to `config`, secrets to `credentials`."""
    config = dict(channel.config or {})
    if channel.type in ("webhook", "slack", "teams") and "url" in given:
        await _guard(given["url"], settings, "url")
        if channel.type == "webhook":
            config["url"] = given["url"]
        else:  # Slack and Teams URLs are themselves credentials: keep only the host in the clear
            credentials["url"] = given["url"]
            config["url_host"] = urlsplit(given["url"]).hostname
    if channel.type == "pagerduty":
        if "routing_key" in given:
            credentials["routing_key"] = given["routing_key"]
        if "events_url" in given:
            await _guard(given["events_url"], settings, "events_url")
            config["events_url"] = given["events_url"]
        config.setdefault("events_url", None)
    if channel.type == "email":
        for name in ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "from_address", "recipients"):
            if name in given:
                config[name] = given[name]
        config.setdefault("smtp_security", "starttls")
        config.setdefault("smtp_port", DEFAULT_SMTP_PORTS[config["smtp_security"]])
        config.setdefault("smtp_username", None)
        if "smtp_password" in given:
            credentials["smtp_password"] = given["smtp_password"]
        if "smtp_host" in given or "smtp_port" in given:
            await _guard(f"http://{config['smtp_host']}:{config['smtp_port']}/", settings, "smtp_host")
    channel.config = config


def _common(channel: NotificationChannel, body: ChannelCreate | ChannelUpdate) -> None:
    fields = body.model_fields_set
    if "name" in fields:
        channel.name = body.name or ""
    if "min_severity" in fields:
        channel.min_severity = body.min_severity
    if "min_priority" in fields:
        channel.min_priority = body.min_priority
    if "event_types" in fields and body.event_types is not None:
        channel.event_types = list(body.event_types)


async def create_channel(session: AsyncSession, principal: Principal, body: ChannelCreate,
                         settings: Settings) -> dict[str, Any]:
    given = body.type_fields()
    _check_fields(body.type, given, creating=True)
    now = utcnow()
    channel = NotificationChannel(id=new_id(PREFIXES["channel"]), type=body.type, name="", status="enabled", config={},
                                  credentials_encrypted="", event_types=[], created_at=now, updated_at=now)
    _common(channel, body)
    if not channel.event_types:  # stored explicitly, so the API shows what the channel will hear
        channel.event_types = list(DEFAULT_EVENT_TYPES)
    credentials: dict[str, Any] = {"secret": generate_secret()} if body.type == "webhook" else {}
    await _merge(channel, given, credentials, settings)
    channel.credentials_encrypted = encrypt_credentials(settings, credentials)
    ChannelRepository(session, principal).add(channel)
    await session.flush()
    # A webhook channel's signing secret is shown in full once, like a webhook endpoint's.
    return render_channel(channel, credentials, reveal=("secret",))


async def update_channel(session: AsyncSession, principal: Principal, channel_id: str, body: ChannelUpdate,
                         settings: Settings) -> dict[str, Any]:
    channel = await ChannelRepository(session, principal).get(channel_id, for_update=True)
    given = body.type_fields()
    _check_fields(channel.type, given, creating=False)
    for name in given:
        if name in REQUIRED_FIELDS[channel.type] and given[name] in (None, "", []):
            raise InvalidRequest(f"'{name}' cannot be empty.", param=name)
    _common(channel, body)
    if "status" in body.model_fields_set and body.status is not None:
        channel.status = body.status
        channel.disabled_reason = None if body.status == "enabled" else "Disabled through the API."
    credentials = decrypt_credentials(settings, channel)
    await _merge(channel, given, credentials, settings)
    channel.credentials_encrypted = encrypt_credentials(settings, credentials)
    channel.updated_at = utcnow()
    await session.flush()
    return render_channel(channel, credentials)


async def get_channel(session: AsyncSession, principal: Principal, channel_id: str,
                      settings: Settings) -> dict[str, Any]:
    channel = await ChannelRepository(session, principal).get(channel_id)
    return render_channel(channel, decrypt_credentials(settings, channel))


async def delete_channel(session: AsyncSession, principal: Principal, channel_id: str) -> dict[str, Any]:
    channel = await ChannelRepository(session, principal).get(channel_id)
    await session.delete(channel)
    await session.flush()
    return {"id": channel_id, "object": "notification_channel", "deleted": True}


def test_event(channel: NotificationChannel, settings: Settings) -> dict[str, Any]:
    now = iso(utcnow())
    sample = {"id": "inc_test", "object": "incident", "livemode": channel.livemode,
              "title": "Test notification from CyberVault", "severity": "low", "priority": "P4", "status": "open",
              "description": f"This is a test message for notification channel {channel.id}. No action is needed.",
              "affected_systems": [], "assignee": None, "team": None, "created": now}
    return {"id": new_id(PREFIXES["event"]), "object": "event", "type": "notification_channel.test", "created": now,
            "livemode": channel.livemode, "data": {"object": sample, "test": True}}


async def send_test(session: AsyncSession, principal: Principal, channel_id: str,
                    settings: Settings) -> dict[str, Any]:
    """Send a test message now and report what the receiver said (nothing is stored or retried)."""
    channel = await ChannelRepository(session, principal).get(channel_id)
    credentials = decrypt_credentials(settings, channel)
    event = test_event(channel, settings)
    result: SendResult = await send_to_channel(channel.type, dict(channel.config or {}), credentials, event,
                                               event["id"], settings)
    return {"object": "notification_channel_test", "channel": channel.id, "ok": result.ok,
            "status_code": result.status_code, "latency_ms": result.latency_ms,
            "response_excerpt": result.response_excerpt, "error": result.error}


async def list_deliveries(session: AsyncSession, principal: Principal, channel_id: str, params: PageParams,
                          status: str | None) -> dict[str, Any]:
    """The channel's deliveries, newest first, each with its latest attempts (the attempts log)."""
    await ChannelRepository(session, principal).get(channel_id)
    repo = ChannelDeliveryRepository(session, principal)
    rows: list[Any] = []

    def keep(delivery: Any) -> dict[str, Any]:
        rows.append(delivery)
        return {}

    page = await repo.page(params, keep, repo.for_channel(channel_id, status))
    if params.ending_before:
        rows.reverse()
    attempts = await repo.attempts_for([d.id for d in rows])
    page["data"] = [render_delivery(d, attempts.get(d.id, [])) for d in rows]
    return page


def render_delivery(delivery: Any, attempts: list[Any]) -> dict[str, Any]:
    rendered = engine_render_delivery(delivery, attempts)
    rendered.pop("webhook_endpoint", None)
    rendered["object"] = "notification_delivery"
    rendered["notification_channel"] = delivery.target_id
    return rendered
