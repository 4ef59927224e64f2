"""A closed broker stops handing out job ids, even to a consumer whose task was never cancelled.

At shutdown a runner task that cannot be cancelled in time is abandoned; it must not go on taking jobs
with the settings of an app that is gone (seen in the suite: a stray runner refused loopback webhooks).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from cybervault.jobs.broker import Broker, InProcessBroker, RedisStreamBroker
from tests.conftest import REDIS_URL, _redis_ok, unavailable
from tests.helpers import poll_until


async def _consumer(broker: Broker, got: list[str]) -> None:
    async for job_id in broker.consume("test-consumer"):
        got.append(job_id)


async def _stops_after_close(broker: Broker) -> None:
    got: list[str] = []
    task = asyncio.create_task(_consumer(broker, got))
    try:
        await broker.publish(["job_before"])
        await poll_until(lambda: got == ["job_before"], message="the first job id")
        await broker.close()
        await broker.publish(["job_after"])
        await asyncio.wait_for(task, timeout=10)  # ends by itself: nobody cancels it
    finally:
        task.cancel()
    assert got == ["job_before"]


async def test_in_process_broker_stops_after_close() -> None:
    await _stops_after_close(InProcessBroker())


@pytest.fixture
async def redis_broker() -> Any:
    if not await _redis_ok():
        unavailable("Redis unreachable")
    broker = RedisStreamBroker(REDIS_URL, prefix=f"cvtest:broker:{secrets.token_hex(4)}")
    yield broker
    cleanup = RedisStreamBroker(REDIS_URL, prefix="unused")
    await cleanup.redis.delete(broker.stream)
    await cleanup.close()


async def test_redis_broker_stops_after_close(redis_broker: RedisStreamBroker) -> None:
    await _stops_after_close(redis_broker)
