"""Distributes job ids to workers. The database stays the truth; a lost message only delays a job
until the reconciler publishes it again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger(__name__)


class Broker(Protocol):
    async def publish(self, job_ids: list[str]) -> None: ...
    def consume(self, consumer: str) -> AsyncIterator[str]: ...
    async def depth(self) -> int: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class InProcessBroker:
    """Embedded mode: an asyncio queue inside `cybervault serve`."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._closed = False

    async def publish(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self._queue.put_nowait(job_id)

    async def consume(self, consumer: str) -> AsyncIterator[str]:
        while not self._closed:
            job_id = await self._queue.get()
            if self._closed:
                return  # the job stays queued in the database; the reconciler publishes it again
            yield job_id

    async def depth(self) -> int:
        return self._queue.qsize()

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._closed = True


class RedisStreamBroker:
    """Scaled mode: a Redis stream with one consumer group shared by every worker process.

    Messages are acknowledged as soon as a worker has tried to claim the job row: the row's lease,
    not the stream's pending list, is what protects work from a worker that dies.
    """

    GROUP = "workers"

    def __init__(self, url: str, prefix: str = "cybervault") -> None:
        self.redis = aioredis.from_url(url, decode_responses=True)
        self.stream = f"{prefix}:jobs"
        self._group_ready = False
        self._closed = False

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.stream, self.GROUP, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def publish(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.xadd(self.stream, {"job": job_id}, maxlen=200_000, approximate=True)
            await pipe.execute()

    async def consume(self, consumer: str) -> AsyncIterator[str]:
        # A consumer whose task could not be cancelled in time at shutdown (redis-py can sit in a shielded
        # cleanup) must still stop taking jobs once the broker is closed: it would run them with the
        # settings of an app that is gone (and the redis client reconnects by itself).
        while not self._closed:
            try:
                await self._ensure_group()
                # One message per read: the runner asks for the next only when it has a free slot, so
                # a busy worker never hoards ids that an idle worker could be running.
                reply = await self.redis.xreadgroup(
                    self.GROUP, consumer, {self.stream: ">"}, count=1, block=1000
                )
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                self._group_ready = False
                log.warning("broker.unreachable", error=str(exc))
                await asyncio.sleep(1.0)
                continue
            if self._closed:
                return  # unacknowledged: the job rows stay queued and the reconciler publishes them again
            for _stream, messages in reply or []:
                for message_id, fields in messages:
                    with contextlib.suppress(aioredis.RedisError, OSError):
                        await self.redis.xack(self.stream, self.GROUP, message_id)
                    yield fields["job"]

    async def depth(self) -> int:
        try:
            groups = await self.redis.xinfo_groups(self.stream)
        except aioredis.ResponseError:
            return 0
        for group in groups:
            if group.get("name") == self.GROUP:
                lag = group.get("lag")
                return int(lag) if lag is not None else 0
        return 0

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (aioredis.RedisError, OSError):
            return False

    async def close(self) -> None:
        self._closed = True
        await self.redis.aclose()


_broker: Broker | None = None
# Brokers by database engine: tests (and embedders) may run several apps in one process, each with its
# own event loop and broker; a commit must publish through the broker of the app whose engine it used.
_by_engine: dict[int, Broker] = {}


def set_broker(broker: Broker | None, engine: object | None = None) -> None:
    global _broker
    if engine is not None:
        if broker is None:
            _by_engine.pop(id(engine), None)
        else:
            _by_engine[id(engine)] = broker
    _broker = broker


def get_broker(engine: object | None = None) -> Broker | None:
    if engine is not None and id(engine) in _by_engine:
        return _by_engine[id(engine)]
    return _broker
