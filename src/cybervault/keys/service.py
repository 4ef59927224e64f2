"""API keys: creation (the secret is shown once), authentication, revocation and rolling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.keys import secrets as keysecrets
from cybervault.keys.models import ApiKey
from cybervault.kit.auth import ALL_SCOPES, Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import InvalidRequest
from cybervault.kit.ids import new_id
from cybervault.orgs.models import Organization


def normalize_scopes(kind: str, scopes: Iterable[str] | None) -> list[str]:
    scopes = sorted(set(scopes or []))
    if kind == "sk":
        if scopes:
            raise InvalidRequest("Secret (sk) keys have full access; scopes apply to restricted (rk) keys.",
                                 param="scopes")
        return []
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise InvalidRequest(f"Unknown scope '{unknown[0]}'. Scopes look like 'incidents:write'.", param="scopes")
    if not scopes:
        raise InvalidRequest("Restricted (rk) keys need at least one scope.", param="scopes")
    return scopes


async def create_key(
    session: AsyncSession, *, org_id: str, livemode: bool, kind: str = "sk", name: str = "",
    scopes: Iterable[str] | None = None, expires_at: dt.datetime | None = None, server_secret: str,
) -> tuple[ApiKey, str]:
    """Returns the row and the plaintext key; the plaintext is never stored and cannot be shown again."""
    if kind not in ("sk", "rk"):
        raise InvalidRequest("Key type must be 'sk' or 'rk'.", param="type")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidRequest("'expires_at' must be in the future.", param="expires_at")
    plaintext = keysecrets.generate_key(livemode, kind)
    key = ApiKey(
        id=new_id("key"), org_id=org_id, livemode=livemode, kind=kind, name=name,
        scopes=normalize_scopes(kind, scopes), key_hash=keysecrets.hash_key(plaintext, server_secret),
        redacted=keysecrets.redact(plaintext), created_at=utcnow(), expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    return key, plaintext


async def authenticate(session: AsyncSession, raw_key: str, server_secret: str,
                       default_limit: int) -> tuple[Principal | None, ApiKey | None]:
    """Resolve a presented key. The work done is the same for every guess: one HMAC and one indexed
    lookup by hash, so response time says nothing about how close a guess was."""
    key_hash = keysecrets.hash_key(raw_key, server_secret)
    row = (await session.execute(
        select(ApiKey, Organization.rate_limit_per_minute)
        .join(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.key_hash == key_hash)
    )).first()
    if row is None or not keysecrets.is_well_formed(raw_key):
        return None, None
    key, org_limit = row
    now = utcnow()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None, None
    principal = Principal(
        org_id=key.org_id, livemode=key.livemode, key_id=key.id, kind=key.kind,
        scopes=frozenset(key.scopes or []), rate_limit_per_minute=org_limit or default_limit,
    )
    return principal, key


async def revoke_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    await session.flush()
    return key


async def roll_key(session: AsyncSession, key: ApiKey, *, grace_seconds: int, server_secret: str
                   ) -> tuple[ApiKey, str]:
    """Issue a replacement with the same rights; the old key keeps working for `grace_seconds`."""
    if key.revoked_at is not None:
        raise InvalidRequest("A revoked key cannot be rolled.", param="id")
    if not 0 <= grace_seconds <= 7 * 86400:
        raise InvalidRequest("'grace_period_seconds' must be between 0 and 604800.", param="grace_period_seconds")
    new_key, plaintext = await create_key(
        session, org_id=key.org_id, livemode=key.livemode, kind=key.kind, name=key.name,
        scopes=key.scopes or None, expires_at=key.expires_at if key.expires_at and key.expires_at > utcnow()
        else None, server_secret=server_secret,
    )
    now = utcnow()
    if grace_seconds == 0:
        key.revoked_at = now
    else:
        grace_end = now + dt.timedelta(seconds=grace_seconds)
        key.expires_at = min(key.expires_at, grace_end) if key.expires_at else grace_end
    key.rolled_to = new_key.id
    await session.flush()
    return new_key, plaintext


async def list_keys_for_org(session: AsyncSession, org_id: str) -> list[ApiKey]:
    return list((await session.scalars(
        select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id.desc())
    )).all())


async def find_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)
