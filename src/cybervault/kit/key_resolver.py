"""Who an API key belongs to: the gateway's database lookups, shared by concurrent requests, and the
key's last use, written off the request path. The principal cache in front is `keys.principal_cache`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cybervault.config import Settings
from cybervault.kit.auth import Principal
from cybervault.kit.db import Database
from cybervault.kit.errors import ServiceUnavailable

__all__ = ["KeyResolver"]


class KeyResolver:
    def __init__(self, settings: Settings, state: Any) -> None:
        self.settings = settings
        self.state = state  # app.state: its db is set in the lifespan, after the middleware is built
        self._last_used: dict[str, float] = {}
        self._inflight: dict[str, asyncio.Future[Principal | None]] = {}

    async def resolve(self, key_hash: str, token: str, secret: str) -> Principal | None:
        """One database lookup per key hash at a time: a burst of requests with a key that is not cached
        yet shares the first lookup instead of queueing hundreds of identical queries for connections."""
        pending = self._inflight.get(key_hash)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request itself was cancelled
                return await self._lookup(key_hash, token, secret)  # the first caller went away
        future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "unretrieved"
        self._inflight[key_hash] = future
        try:
            principal = await self._lookup(key_hash, token, secret)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(principal)
            return principal
        finally:
            self._inflight.pop(key_hash, None)

    async def _lookup(self, key_hash: str, token: str, secret: str) -> Principal | None:
        from cybervault.keys import principal_cache
        from cybervault.keys.service import authenticate

        db: Database = self.state.db
        try:
            async with db.session() as session:
                principal, key = await authenticate(session, token, secret, self.settings.rate_limit_per_minute)
        except (OSError, ConnectionError) as exc:
            raise ServiceUnavailable("The database is unreachable; retry shortly.") from exc
        if principal is not None and key is not None:
            principal_cache.put(key_hash, principal, key.expires_at)
        return principal

    def touch(self, key_id: str) -> None:
        """Record last use at most once a minute per key and process, off the request path."""
        now = time.monotonic()
        if now - self._last_used.get(key_id, -1e9) < 60:
            return
        self._last_used[key_id] = now
        task = asyncio.get_running_loop().create_task(self._write_last_used(key_id))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _write_last_used(self, key_id: str) -> None:
        from sqlalchemy import update

        from cybervault.keys.models import ApiKey
        from cybervault.kit.db import utcnow

        async with self.state.db.session() as session, session.begin():
            await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
