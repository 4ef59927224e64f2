"""Storage for idempotent POSTs: the first 2xx response per (org, mode, key) is kept and replayed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from cybervault.audit.models import IdempotencyRecord
from cybervault.kit.auth import Principal
from cybervault.kit.db import Database, utcnow

# A worker that died mid-request leaves an in-progress record; after this long it may be retried.
STALE_IN_PROGRESS = dt.timedelta(seconds=60)
# Stored responses can hold one-time secrets (a new API key, a webhook secret), so they are kept
# encrypted when an encryption key is given; rows written without one stay readable.
_SEALED = "fernet:"


@lru_cache(maxsize=4)
def _fernet(encryption_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"cybervault idempotency responses").derive(encryption_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _seal(body: bytes, encryption_key: str | None) -> str:
    if not encryption_key:
        return body.decode("utf-8", "replace")
    return _SEALED + _fernet(encryption_key).encrypt(body).decode()


def _open(stored: str, encryption_key: str | None) -> bytes:
    if stored.startswith(_SEALED) and encryption_key:
        return _fernet(encryption_key).decrypt(stored[len(_SEALED):].encode())
    return stored.encode()


@dataclass(frozen=True)
class Outcome:
    kind: str  # started | replay | conflict | wait
    status: int | None = None
    body: bytes | None = None


def record_id(principal: Principal, idem_key: str) -> str:
    raw = f"{principal.org_id}\n{principal.livemode}\n{idem_key}".encode()
    return hashlib.sha256(raw).hexdigest()


async def begin(db: Database, rid: str, org_id: str, request_hash: str, ttl_seconds: int,
                encryption_key: str | None = None) -> Outcome:
    now = utcnow()
    async with db.session() as session:
        try:
            async with session.begin():
                existing = await session.get(IdempotencyRecord, rid)
                if existing is not None and (existing.expires_at <= now or (
                        existing.status == "in_progress" and existing.created_at < now - STALE_IN_PROGRESS)):
                    await session.delete(existing)
                    await session.flush()
                    existing = None
                if existing is None:
                    session.add(IdempotencyRecord(
                        id=rid, org_id=org_id, request_hash=request_hash, status="in_progress",
                        created_at=now, expires_at=now + dt.timedelta(seconds=ttl_seconds)))
                    return Outcome("started")
                if existing.request_hash != request_hash:
                    return Outcome("conflict")
                if existing.status == "done":
                    return Outcome("replay", existing.response_status,
                                   _open(existing.response_body or "", encryption_key))
                return Outcome("wait")
        except IntegrityError:  # a concurrent request inserted the same key first
            return Outcome("wait")


async def complete(db: Database, rid: str, status: int, body: bytes, encryption_key: str | None = None) -> None:
    async with db.session() as session, session.begin():
        record = await session.get(IdempotencyRecord, rid)
        if record is not None:
            record.status = "done"
            record.response_status = status
            record.response_body = _seal(body, encryption_key)


async def abandon(db: Database, rid: str) -> None:
    async with db.session() as session, session.begin():
        await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == rid,
                                                              IdempotencyRecord.status == "in_progress"))


async def prune_expired(db: Database) -> int:
    async with db.session() as session, session.begin():
        ids = list((await session.scalars(
            select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= utcnow()).limit(5000))).all())
        if ids:
            await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
    return len(ids)
