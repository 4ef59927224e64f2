"""Webhook endpoint rules: SSRF-checked URLs, encrypted secrets with rotation, test sends, retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.events.service import record_event
from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import Conflict
from cybervault.kit.ids import new_id
from cybervault.kit.pagination import PageParams
from cybervault.kit.time import iso
from cybervault.webhooks.crypto import decrypt_text, encrypt_text
from cybervault.webhooks.delivery import enqueue_delivery, retry_now
from cybervault.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from cybervault.webhooks.repository import WebhookDeliveryRepository, WebhookEndpointRepository
from cybervault.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from cybervault.webhooks.signing import generate_secret
from cybervault.webhooks.ssrf import check_url

ROTATION_OVERLAP = dt.timedelta(hours=24)
TARGET_TYPE = "webhook_endpoint"


def subscribes(enabled_events: list[Any], event_type: str) -> bool:
    prefix = event_type.split(".")[0] + ".*"
    return any(item in ("*", event_type, prefix) for item in enabled_events)


# ---- rendering -------------------------------------------------------------------------------------
def render_endpoint(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "livemode": endpoint.livemode,
        "created": iso(endpoint.created_at),
        "updated": iso(endpoint.updated_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def render_attempt(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt_number": attempt.attempt_number,
        "succeeded": attempt.succeeded,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "response_excerpt": attempt.response_excerpt,
        "error": attempt.error,
        "created": iso(attempt.created_at),
    }


def render_delivery(delivery: Delivery, attempts: list[DeliveryAttempt] | None = None) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "webhook_endpoint": delivery.target_id,
        "event": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "last_attempt_at": iso(delivery.last_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "livemode": delivery.livemode,
        "created": iso(delivery.created_at),
        "attempts": [render_attempt(a) for a in attempts or []],
    }


# ---- endpoints -------------------------------------------------------------------------------------
async def create_endpoint(session: AsyncSession, principal: Principal, body: WebhookEndpointCreate,
                          settings: Settings) -> tuple[WebhookEndpoint, str]:
    await check_url(body.url, settings.webhook_allowed_networks)
    secret = generate_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(
        id=new_id("we"), url=body.url, description=body.description,
        enabled_events=body.enabled_events, status="enabled", secret_encrypted=encrypt_text(settings.encryption_key,
                                                                                            secret),
        created_at=now, updated_at=now)
    WebhookEndpointRepository(session, principal).add(endpoint)
    await session.flush()
    return endpoint, secret


async def update_endpoint(session: AsyncSession, principal: Principal, endpoint_id: str,
                          body: WebhookEndpointUpdate, settings: Settings) -> WebhookEndpoint:
    endpoint = await WebhookEndpointRepository(session, principal).get(endpoint_id, for_update=True)
    fields = body.model_fields_set
    if "url" in fields and body.url is not None:
        await check_url(body.url, settings.webhook_allowed_networks)
        endpoint.url = body.url
    if "enabled_events" in fields and body.enabled_events is not None:
        endpoint.enabled_events = body.enabled_events
    if "description" in fields:
        endpoint.description = body.description
    if "status" in fields and body.status is not None and body.status != endpoint.status:
        endpoint.status = body.status
        # Re-enabling starts a fresh failure window; disabling by hand says so.
        endpoint.disabled_reason = None if body.status == "enabled" else "Disabled through the API."
        endpoint.failing_since = None
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, principal: Principal, endpoint_id: str) -> None:
    endpoint = await WebhookEndpointRepository(session, principal).get(endpoint_id)
    await session.delete(endpoint)  # its pending deliveries fail on their next attempt
    await session.flush()


async def reveal_secret(session: AsyncSession, principal: Principal, endpoint_id: str,
                        settings: Settings) -> dict[str, Any]:
    endpoint = await WebhookEndpointRepository(session, principal).get(endpoint_id)
    body: dict[str, Any] = {"object": "webhook_endpoint_secret", "webhook_endpoint": endpoint.id,
                            "secret": decrypt_text(settings.encryption_key, endpoint.secret_encrypted),
                            "previous_secret_expires_at": None}
    if endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > utcnow():
        body["previous_secret_expires_at"] = iso(endpoint.previous_secret_expires_at)
    return body


async def rotate_secret(session: AsyncSession, principal: Principal, endpoint_id: str,
                        settings: Settings) -> tuple[WebhookEndpoint, str]:
    """New secret now; the old one keeps signing (as a second signature) for 24 hours."""
    endpoint = await WebhookEndpointRepository(session, principal).get(endpoint_id, for_update=True)
    secret = generate_secret()
    now = utcnow()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_encrypted = encrypt_text(settings.encryption_key, secret)
    endpoint.updated_at = now
    await session.flush()
    return endpoint, secret


async def send_test(session: AsyncSession, principal: Principal, endpoint_id: str) -> Delivery:
    """Record a webhook.test event and deliver it to this endpoint only."""
    endpoint = await WebhookEndpointRepository(session, principal).get(endpoint_id)
    if endpoint.status != "enabled":
        raise Conflict("This webhook endpoint is disabled; enable it before sending a test event.", param="id")
    event = record_event(session, org_id=principal.org_id, livemode=principal.livemode, type="webhook.test",
                         obj=render_endpoint(endpoint))
    delivery = enqueue_delivery(session, org_id=principal.org_id, livemode=principal.livemode,
                                target_type=TARGET_TYPE, target_id=endpoint.id, event_id=event.id,
                                event_type=event.type)
    await session.flush()
    return delivery


# ---- deliveries ------------------------------------------------------------------------------------
async def list_deliveries(session: AsyncSession, principal: Principal, endpoint_id: str, params: PageParams,
                          status: str | None, event_id: str | None) -> dict[str, Any]:
    await WebhookEndpointRepository(session, principal).get(endpoint_id)
    repo = WebhookDeliveryRepository(session, principal)
    rows: list[Delivery] = []

    def keep(delivery: Delivery) -> dict[str, Any]:
        rows.append(delivery)
        return {}

    page = await repo.page(params, keep, repo.for_endpoint(endpoint_id, status, event_id))
    if params.ending_before:
        rows.reverse()  # paginate() renders ascending, then reverses its own list
    attempts = await repo.attempts_for([d.id for d in rows])
    page["data"] = [render_delivery(d, attempts.get(d.id)) for d in rows]
    return page


async def retry_delivery(session: AsyncSession, principal: Principal, delivery_id: str) -> Delivery:
    repo = WebhookDeliveryRepository(session, principal)
    delivery = await repo.get(delivery_id, for_update=True)
    endpoint = await WebhookEndpointRepository(session, principal).find(delivery.target_id)
    if endpoint is None:
        raise Conflict("The webhook endpoint of this delivery was deleted.", param="id")
    if endpoint.status != "enabled":
        raise Conflict("This delivery's webhook endpoint is disabled; enable it before retrying.", param="id")
    retry_now(session, delivery)
    await session.flush()
    return delivery


async def delivery_with_attempts(session: AsyncSession, principal: Principal, delivery_id: str) -> dict[str, Any]:
    repo = WebhookDeliveryRepository(session, principal)
    delivery = await repo.get(delivery_id)
    attempts = await repo.attempts_for([delivery.id])
    return render_delivery(delivery, attempts.get(delivery.id))
