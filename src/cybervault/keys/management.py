"""Key management through the API: the rules that keep a key from minting more power than it has."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.keys import service
from cybervault.keys.models import ApiKey
from cybervault.keys.repository import ApiKeyRepository
from cybervault.keys.schemas import ApiKeyCreate
from cybervault.kit.auth import Principal
from cybervault.kit.errors import InsufficientPermissions, InvalidRequest
from cybervault.kit.pagination import PageParams
from cybervault.kit.time import iso


def render_key(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": key.id, "object": "api_key", "livemode": key.livemode, "type": key.kind, "name": key.name,
        "scopes": list(key.scopes or []), "redacted": key.redacted, "created": iso(key.created_at),
        "expires_at": iso(key.expires_at), "revoked_at": iso(key.revoked_at),
        "last_used_at": iso(key.last_used_at),
    }
    if secret is not None:
        body["secret"] = secret  # only in the create/roll response, never again
    return body


def _check_no_escalation(principal: Principal, kind: str, scopes: list[str]) -> None:
    """A restricted key may only hand out rights it holds itself."""
    if principal.kind == "sk":
        return
    if kind == "sk":
        raise InsufficientPermissions("A restricted (rk) key cannot create or roll a secret (sk) key.")
    for scope in scopes:
        if not principal.has_scope(scope):
            raise InsufficientPermissions(
                f"This API key does not have the '{scope}' permission, so it cannot grant it.",
                extra={"missing_scope": scope})


async def list_keys(session: AsyncSession, principal: Principal, params: PageParams) -> dict[str, Any]:
    return await ApiKeyRepository(session, principal).page(params, render_key)


async def get_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    return await ApiKeyRepository(session, principal).get(key_id)


async def create_key(session: AsyncSession, principal: Principal, body: ApiKeyCreate,
                     server_secret: str) -> tuple[ApiKey, str]:
    caller_mode = "live" if principal.livemode else "test"
    if body.mode is not None and body.mode != caller_mode:
        raise InvalidRequest(f"A {caller_mode} key can only create {caller_mode} keys.", param="mode")
    expires_at = body.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    scopes = service.normalize_scopes(body.type, body.scopes)
    _check_no_escalation(principal, body.type, scopes)
    return await service.create_key(
        session, org_id=principal.org_id, livemode=principal.livemode, kind=body.type, name=body.name,
        scopes=scopes or None, expires_at=expires_at, server_secret=server_secret)


async def revoke_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    key = await ApiKeyRepository(session, principal).get(key_id, for_update=True)
    return await service.revoke_key(session, key)


async def roll_key(session: AsyncSession, principal: Principal, key_id: str, grace_seconds: int,
                   server_secret: str) -> tuple[ApiKey, str]:
    key = await ApiKeyRepository(session, principal).get(key_id, for_update=True)
    _check_no_escalation(principal, key.kind, list(key.scopes or []))
    return await service.roll_key(session, key, grace_seconds=grace_seconds, server_secret=server_secret)
