"""The delivery engine shared by webhook endpoints and notification channels.

One `Delivery` row per (event, target) and one `DeliveryAttempt` row per try. A job
"deliveries.send" {"delivery_id", "attempt"} performs one attempt; the next attempt of the schedule
is a new job with `run_at`, written in the same transaction that records the failed attempt. The job
layer's own retries only cover crashes. A worker killed mid-send leaves its job's lease to expire; the
reconciler republishes it and the attempt is made again: delivery is at least once.

Targets plug in with `register_sender(target_type, fn, on_result=...)`; the engine calls `fn` with a
`SendContext` and records the `SendResult` it returns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.events.models import Event
from cybervault.events.service import render_event
from cybervault.jobs.models import Job
from cybervault.jobs.service import enqueue
from cybervault.kit.db import Database, utcnow
from cybervault.kit.ids import new_id
from cybervault.webhooks.models import Delivery, DeliveryAttempt

if TYPE_CHECKING:
    from cybervault.jobs.runner import JobContext

log = structlog.get_logger(__name__)

JOB_KIND = "deliveries.send"
# Seconds before attempts 1..8: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (×retry scale, ±10 %).
RETRY_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1
# How long a send may wait for its target's concurrency slot before the attempt is pushed back.
SLOT_WAIT_SECONDS = 1.0


@dataclass
class SendResult:
    ok: bool
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    gone: bool = False  # the target answered 410 Gone: disable it


@dataclass
class SendContext:
    delivery: Delivery
    event: dict[str, Any]  # render_event(): exactly what receivers get
    settings: Settings
    db: Database
    attempt: int = 1
    target: Any = None  # the target row when the caller already loaded it (saves a query)

    def session(self) -> Any:
        """A new database session (async context manager)."""
        return self.db.session()


class TargetUnavailable(Exception):
    """Raise from a sender when the target is gone or disabled: the delivery fails without retries."""


SenderFn = Callable[[SendContext], Awaitable[SendResult]]
# Called in the transaction that records an attempt (e.g. to disable a target after 410).
ResultHook = Callable[[AsyncSession, Delivery, SendResult], Awaitable[None]]


@dataclass
class _Target:
    send: SenderFn
    on_result: ResultHook | None = None


SENDERS: dict[str, _Target] = {}


def register_sender(target_type: str, fn: SenderFn, *, on_result: ResultHook | None = None) -> None:
    SENDERS[target_type] = _Target(fn, on_result)


def next_delay(attempts_made: int, scale: float) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is exhausted."""
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempts_made] * scale
    return base * (1 + random.uniform(-JITTER, JITTER)) if base else 0.0  # noqa: S311


def enqueue_delivery(session: AsyncSession, *, org_id: str, livemode: bool, target_type: str, target_id: str,
                     event_id: str, event_type: str) -> Delivery:
    """Add a delivery and its first job to the caller's transaction (sent once it commits)."""
    now = utcnow()
    delivery = Delivery(id=new_id("wd"), org_id=org_id, livemode=livemode, target_type=target_type,
                        target_id=target_id, event_id=event_id, event_type=event_type, status="pending",
                        attempt_count=0, next_attempt_at=now, created_at=now, updated_at=now)
    session.add(delivery)
    schedule_attempt(session, delivery, now)
    return delivery


def schedule_attempt(session: AsyncSession, delivery: Delivery, run_at: dt.datetime) -> Job:
    delivery.next_attempt_at = run_at
    return enqueue(session, JOB_KIND, {"delivery_id": delivery.id, "attempt": delivery.attempt_count + 1},
                   run_at=run_at, org_id=delivery.org_id)


# ---- per-target concurrency (in-process; across processes it is best effort) ----------------------
@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    waiting: int = 0


_slots: dict[tuple[int, str, str], _Slots] = {}


@asynccontextmanager
async def target_slot(target_type: str, target_id: str, limit: int, *, queue: int | None = None,
                      wait: float = SLOT_WAIT_SECONDS) -> Any:
    """Yield True holding one of `limit` slots for this target, or False if none freed up quickly.

    Only limit/2 callers may queue for a busy target; the rest get False at once and reschedule, so
    a slow receiver ties up at most 1.5×limit worker slots and the others keep being served.
    """
    key = (id(asyncio.get_running_loop()), target_type, target_id)
    slots = _slots.get(key)
    if slots is None:
        slots = _slots[key] = _Slots(asyncio.Semaphore(limit))
    if slots.semaphore.locked() and slots.waiting >= (max(1, limit // 2) if queue is None else queue):
        yield False
        return
    if slots.semaphore.locked():
        slots.waiting += 1
        try:
            await asyncio.wait_for(slots.semaphore.acquire(), wait)
        except TimeoutError:
            yield False
            return
        finally:
            slots.waiting -= 1
    else:
        await slots.semaphore.acquire()  # free: returns at once (no timer task per send)
    try:
        yield True
    finally:
        slots.semaphore.release()


# ---- one attempt ---------------------------------------------------------------------------------
async def run_delivery_job(job: JobContext) -> dict[str, Any]:
    delivery_id = str(job.payload["delivery_id"])
    attempt = int(job.payload.get("attempt", 1))
    async with job.db.session() as session:
        delivery = await session.get(Delivery, delivery_id)
        if delivery is None:
            return {"skipped": "no such delivery"}
        if delivery.status != "pending" or delivery.attempt_count >= attempt:
            return {"skipped": f"stale job (delivery {delivery.status}, {delivery.attempt_count} attempts)"}
        event = await session.get(Event, delivery.event_id)
        session.expunge_all()
    if event is None:
        await _finish_without_attempt(job.db, delivery, "The event no longer exists (past retention).")
        return {"status": "failed"}
    target = SENDERS.get(delivery.target_type)
    if target is None:
        raise RuntimeError(f"no sender registered for target type {delivery.target_type!r}")
    ctx = SendContext(delivery, render_event(event), job.settings, job.db, attempt)
    async with target_slot(delivery.target_type, delivery.target_id,
                           job.settings.webhook_max_concurrency_per_endpoint) as acquired:
        if not acquired:
            await _defer(job.db, delivery, attempt)
            return {"status": "deferred"}
        try:
            result = await target.send(ctx)
        except TargetUnavailable as exc:
            await _finish_without_attempt(job.db, delivery, str(exc))
            return {"status": "failed", "error": str(exc)}
        except Exception as exc:  # a sender bug counts as a failed attempt, so the schedule still applies
            log.exception("delivery.sender_crashed", delivery_id=delivery.id)
            result = SendResult(False, None, 0, None, f"sender error: {type(exc).__name__}: {exc}"[:500])
    status = await record_attempt(job.db, delivery.id, attempt, result, job.settings, target.on_result)
    return {"status": status, "status_code": result.status_code}


async def record_attempt(db: Database, delivery_id: str, attempt: int, result: SendResult, settings: Settings,
                         hook: ResultHook | None) -> str:
    """Write the attempt and the delivery's new state (and the next attempt's job) in one transaction."""
    async with db.session() as session, session.begin():
        return await apply_result(session, delivery_id, attempt, result, settings, hook)


def attempt_values(delivery_id: str, attempt: int, result: SendResult, now: dt.datetime) -> dict[str, Any]:
    """One delivery_attempts row as column values (for a Core insert of many)."""
    return {"id": new_id("wda"), "delivery_id": delivery_id, "attempt_number": attempt, "succeeded": result.ok,
            "status_code": result.status_code, "latency_ms": result.latency_ms,
            "response_excerpt": result.response_excerpt, "error": result.error, "created_at": now}


def attempt_row(delivery_id: str, attempt: int, result: SendResult, now: dt.datetime) -> DeliveryAttempt:
    return DeliveryAttempt(**attempt_values(delivery_id, attempt, result, now))


async def apply_result(session: AsyncSession, delivery_id: str, attempt: int, result: SendResult,
                       settings: Settings, hook: ResultHook | None) -> str:
    """Record one attempt inside the caller's transaction; returns the delivery's status."""
    now = utcnow()
    delivery = await session.get(Delivery, delivery_id, with_for_update=_for_update(session))
    if delivery is None:
        return "missing"
    session.add(attempt_row(delivery.id, attempt, result, now))
    if delivery.status != "pending" or delivery.attempt_count >= attempt:
        return delivery.status  # a concurrent duplicate already recorded this attempt
    delivery.attempt_count = attempt
    delivery.last_attempt_at = now
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.updated_at = now
    if result.ok:
        delivery.status, delivery.next_attempt_at = "succeeded", None
    else:
        delay = None if result.gone else next_delay(attempt, settings.webhook_retry_scale)
        if delay is None:
            delivery.status, delivery.next_attempt_at = "failed", None
        else:
            schedule_attempt(session, delivery, now + dt.timedelta(seconds=delay))
    if hook is not None:
        await hook(session, delivery, result)
    return delivery.status


async def _finish_without_attempt(db: Database, delivery: Delivery, reason: str) -> None:
    async with db.session() as session, session.begin():
        await fail_without_attempt(session, delivery.id, reason)


async def fail_without_attempt(session: AsyncSession, delivery_id: str, reason: str) -> None:
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "pending")
        .values(status="failed", last_error=reason, next_attempt_at=None, updated_at=utcnow()))


async def _defer(db: Database, delivery: Delivery, attempt: int) -> None:
    """The target is at its concurrency limit: try the same attempt again shortly."""
    run_at = utcnow() + dt.timedelta(seconds=random.uniform(0.5, 1.5))  # noqa: S311
    async with db.session() as session, session.begin():
        enqueue(session, JOB_KIND, {"delivery_id": delivery.id, "attempt": attempt}, run_at=run_at,
                org_id=delivery.org_id)


def _for_update(session: AsyncSession) -> bool:
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def retry_now(session: AsyncSession, delivery: Delivery) -> Delivery:
    """Manual retry: one more attempt right away (it continues the schedule if attempts remain)."""
    now = utcnow()
    delivery.status = "pending"
    delivery.updated_at = now
    schedule_attempt(session, delivery, now)
    return delivery
