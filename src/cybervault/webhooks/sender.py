"""The "webhook_endpoint" target: sign the event both ways and POST it; disable endpoints that ask."""

from __future__ import annotations

import datetime as dt
import json
import time
from functools import lru_cache

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.kit.db import utcnow
from cybervault.webhooks.crypto import decrypt_text
from cybervault.webhooks.delivery import Delivery, SendContext, SendResult, TargetUnavailable
from cybervault.webhooks.http import post_json
from cybervault.webhooks.models import WebhookEndpoint
from cybervault.webhooks.signing import sign_headers

TARGET_TYPE = "webhook_endpoint"
FAILING_LIMIT = dt.timedelta(days=5)


def endpoint_secrets(endpoint: WebhookEndpoint, settings: Settings, now: dt.datetime) -> list[str]:
    """Newest first; the previous secret while its 24 h overlap lasts."""
    key = settings.encryption_key.get_secret_value()
    secrets = [_decrypt(key, endpoint.secret_encrypted)]
    if (endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now):
        secrets.append(_decrypt(key, endpoint.previous_secret_encrypted))
    return secrets


@lru_cache(maxsize=4096)
def _decrypt(key: str, token: str) -> str:
    """Decrypting (Fernet: HMAC + AES) on every send was a visible share of a delivery's CPU; a rotated
    secret is a new token, so entries never go stale. The process holds the encryption key anyway."""
    return decrypt_text(key, token)


def encode_event(event: dict[str, object]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


async def send_to_endpoint(ctx: SendContext) -> SendResult:
    endpoint = ctx.target
    if endpoint is None:
        async with ctx.session() as session:
            endpoint = await session.get(WebhookEndpoint, ctx.delivery.target_id)
    if endpoint is None:
        raise TargetUnavailable("The webhook endpoint was deleted.")
    return await post_event(endpoint, endpoint_secrets(endpoint, ctx.settings, utcnow()), str(ctx.event["id"]),
                            encode_event(ctx.event), ctx.settings)


async def post_event(endpoint: WebhookEndpoint, secrets: list[str], event_id: str, body: bytes,
                     settings: Settings) -> SendResult:
    """Sign an encoded event for this endpoint (secrets newest first) and POST it."""
    if endpoint.status != "enabled":
        raise TargetUnavailable(f"The webhook endpoint is disabled ({endpoint.disabled_reason or 'disabled'}).")
    headers = sign_headers(secrets, event_id, int(time.time()), body)
    return await post_json(endpoint.url, body, headers, settings)


async def endpoint_outcome(session: AsyncSession, delivery: Delivery, result: SendResult) -> None:
    """410 disables at once; a run of failures lasting 5 days disables; a success ends the run."""
    now = utcnow()
    table = WebhookEndpoint
    if result.ok:
        await session.execute(update(table).where(table.id == delivery.target_id, table.failing_since.is_not(None))
                              .values(failing_since=None))
        return
    if result.gone:
        await session.execute(update(table).where(table.id == delivery.target_id, table.status == "enabled").values(
            status="disabled", disabled_reason="The endpoint answered 410 Gone.", updated_at=now))
        return
    endpoint = await session.get(table, delivery.target_id)
    if endpoint is None:
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= FAILING_LIMIT and endpoint.status == "enabled":
        endpoint.status = "disabled"
        endpoint.disabled_reason = "Every delivery failed for 5 days."
        endpoint.updated_at = now


async def clear_failing(session: AsyncSession, endpoint_ids: list[str]) -> None:
    """Batch form of endpoint_outcome() for successes."""
    if endpoint_ids:
        await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids),
                                                            WebhookEndpoint.failing_since.is_not(None))
                              .values(failing_since=None))
