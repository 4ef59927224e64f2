"""A short-lived, per-process cache of key hash → Principal, so most requests authenticate without a
database round trip.

TTL_SECONDS bounds staleness: a key revoked or rolled through *another* API process keeps working here
for at most that long (and never past its own `expires_at`). Revoking or rolling through this process
drops the entry at once. Only successful lookups are cached, so a new key works immediately.
"""

from __future__ import annotations

import datetime as dt
import time

from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000

_entries: dict[str, tuple[float, Principal, dt.datetime | None]] = {}
_hash_by_key_id: dict[str, str] = {}


def get(key_hash: str) -> Principal | None:
    entry = _entries.get(key_hash)
    if entry is None:
        return None
    stored_at, principal, expires_at = entry
    if time.monotonic() - stored_at > TTL_SECONDS or (expires_at is not None and expires_at <= utcnow()):
        _entries.pop(key_hash, None)
        return None
    return principal


def put(key_hash: str, principal: Principal, expires_at: dt.datetime | None) -> None:
    if len(_entries) >= MAX_ENTRIES:  # crude bound; entries are cheap to rebuild
        clear()
    _entries[key_hash] = (time.monotonic(), principal, expires_at)
    _hash_by_key_id[principal.key_id] = key_hash


def invalidate(key_id: str) -> None:
    key_hash = _hash_by_key_id.pop(key_id, None)
    if key_hash is not None:
        _entries.pop(key_hash, None)


def clear() -> None:
    _entries.clear()
    _hash_by_key_id.clear()
