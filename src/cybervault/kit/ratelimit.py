"""Per-key and per-IP request limits on fixed one-minute windows (the `limits` library).

With CYBERVAULT_REDIS_URL the counters live in Redis, so the count is exact across API processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from cybervault.kit.errors import ServiceUnavailable

REDIS_POOL_SIZE = 50
REDIS_POOL_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds, rounded up (the X-RateLimit-Reset header)
    reset_exact: float = 0.0  # unrounded, so Retry-After never overshoots the window

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.reset_exact or self.reset_at) - time.time()))


class RateLimiter:
    def __init__(self, redis_url: str | None, *, prefix: str = "cybervault", fail_open: bool = False) -> None:
        self.storage: Storage
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
            # A burst waits briefly for a pooled connection instead of failing with "Too many connections"
            # (redis-py's plain pool refuses outright once it is full).
            pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=REDIS_POOL_SIZE,
                                                            timeout=REDIS_POOL_WAIT_SECONDS)
            self.storage = RedisStorage(uri, implementation="redispy", key_prefix=f"{prefix}:rl",
                                        wrap_exceptions=True, connection_pool=pool)
        else:
            self.storage = MemoryStorage()
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.fail_open = fail_open
        self._items: dict[int, RateLimitItemPerMinute] = {}

    def _item(self, limit: int) -> RateLimitItemPerMinute:
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = RateLimitItemPerMinute(limit)
        return item

    async def hit(self, namespace: str, identifier: str, limit: int) -> RateLimitResult:
        item = self._item(limit)
        try:
            allowed = await self.strategy.hit(item, namespace, identifier)
            stats = await self.strategy.get_window_stats(item, namespace, identifier)
        except Exception as exc:  # Redis unreachable
            if self.fail_open:
                return RateLimitResult(True, limit, limit, int(time.time()) + 60)
            raise ServiceUnavailable("Rate limiting is unavailable; retry shortly.") from exc
        return RateLimitResult(allowed, limit, max(0, int(stats.remaining)), int(math.ceil(stats.reset_time)),
                               float(stats.reset_time))

    async def reset(self) -> None:
        await self.storage.reset()
