"""Workers: claim a job row under a lease, run its handler, record the outcome.

A worker that dies mid-job stops renewing its lease; once the lease expires the reconciler
publishes the job again and another worker claims it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import socket
import traceback
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.exc import IntegrityError

from cybervault.config import Settings
from cybervault.jobs.broker import Broker
from cybervault.jobs.models import Job
from cybervault.jobs.registry import HANDLERS, PERIODIC, load_task_modules
from cybervault.jobs.service import enqueue
from cybervault.kit.db import Database, UTCDateTime, utcnow

log = structlog.get_logger(__name__)


# A task stuck in a client library's shielded cleanup (seen with redis-py after read timeouts) must not
# hang shutdown forever; after this long it is abandoned with a warning.
SHUTDOWN_STEP_SECONDS = 5.0


async def cancel_and_wait(tasks: list[asyncio.Task[Any]], timeout: float = SHUTDOWN_STEP_SECONDS) -> None:
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in _done:
        if not task.cancelled():
            task.exception()  # retrieve it so asyncio does not log "exception was never retrieved"
    if pending:
        log.warning("shutdown.tasks_abandoned", tasks=[t.get_name() for t in pending])


async def bounded(coro: Any, timeout: float = SHUTDOWN_STEP_SECONDS) -> None:
    """Run one shutdown step, giving up (not waiting on cancellation) after `timeout`."""
    task = asyncio.ensure_future(coro)
    await cancel_after(task, timeout)


async def cancel_after(task: asyncio.Future[Any], timeout: float) -> None:
    _done, pending = await asyncio.wait([task], timeout=timeout)
    if pending:
        task.cancel()
        log.warning("shutdown.step_abandoned")
    elif not task.cancelled():
        task.exception()


class PermanentJobError(Exception):
    """Raise from a handler to fail the job now, without further retries."""


@dataclass
class JobContext:
    job_id: str
    kind: str
    attempt: int
    payload: dict[str, Any]
    db: Database
    settings: Settings
    worker_id: str
    lease_seconds: int

    async def heartbeat(self) -> bool:
        """Extend the lease; False if another worker has taken the job over."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.lease_owner == self.worker_id, Job.status == "running")
                .values(lease_expires_at=utcnow() + dt.timedelta(seconds=self.lease_seconds))
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**6):06x}"  # noqa: S311


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: ~2 s, 4 s, 8 s … capped at 10 minutes."""
    base = min(2.0**attempt, 600.0)
    return base * (0.5 + random.random() / 2)  # noqa: S311


def _claim_statement(custom_lease_kinds: list[str]) -> Any:
    """UPDATE jobs SET running, leased … WHERE claimable RETURNING what the runner needs. The lease's
    expiry depends on the kind, which is only known once the row matches: a CASE over the kinds with
    their own lease length (parameters expiry_<i>), else the default (parameter expiry)."""
    table = Job.__table__
    now = bindparam("now", type_=UTCDateTime())
    expiry: Any = bindparam("expiry", type_=UTCDateTime())
    if custom_lease_kinds:
        expiry = case(*((table.c.kind == kind, bindparam(f"expiry_{i}", type_=UTCDateTime()))
                        for i, kind in enumerate(custom_lease_kinds)), else_=expiry)
    return (
        update(table)
        .where(
            table.c.id == bindparam("job_id"),
            or_(
                and_(table.c.status == "queued", table.c.run_at <= now),
                and_(table.c.status == "running", table.c.lease_expires_at < now),
            ),
        )
        .values(status="running", lease_owner=bindparam("owner"), attempts=table.c.attempts + 1,
                lease_expires_at=expiry, updated_at=now)
        .returning(table.c.kind, table.c.attempts, table.c.max_attempts, table.c.payload, table.c.last_error)
    )


class JobRunner:
    def __init__(self, db: Database, broker: Broker, settings: Settings, *, worker_id: str | None = None,
                 concurrency: int | None = None) -> None:
        self.db = db
        self.broker = broker
        self.settings = settings
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency or settings.worker_concurrency
        self._slots = asyncio.Semaphore(self.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._claim_statements: dict[tuple[tuple[str, int], ...], Any] = {}
        load_task_modules()

    # ---- consuming -------------------------------------------------------------------------
    async def run(self) -> None:
        log.info("worker.started", worker=self.worker_id, concurrency=self.concurrency)
        async for job_id in self.broker.consume(self.worker_id):
            await self._slots.acquire()
            task = asyncio.create_task(self._run_one(job_id))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _run_one(self, job_id: str) -> None:
        try:
            await self.execute(job_id)
        except Exception:  # never let one job kill the consumer loop
            log.exception("worker.execute_crashed", job_id=job_id)

    async def shutdown(self) -> None:
        await cancel_and_wait(list(self._tasks))

    # ---- one job ---------------------------------------------------------------------------
    async def claim(self, job_id: str) -> Job | None:
        """Take the job under a lease with one conditional UPDATE … RETURNING: a job that is finished (e.g.
        in a batch), not yet due, or leased by a live worker matches nothing. Most broker messages of a
        batched kind are such no-ops, so this is kept to one prepared statement (PostgreSQL: one round trip)."""
        now = utcnow()
        leases = self._custom_leases()
        params: dict[str, Any] = {"job_id": job_id, "now": now, "owner": self.worker_id,
                                  "expiry": now + dt.timedelta(seconds=self.settings.job_lease_seconds)}
        for i, (_kind, seconds) in enumerate(leases):
            params[f"expiry_{i}"] = now + dt.timedelta(seconds=seconds)
        stmt = self._claim_statements.get(leases)
        if stmt is None:
            stmt = self._claim_statements[leases] = _claim_statement([kind for kind, _ in leases])
        row = await self._execute_alone(stmt, params)
        if row is None:
            return None
        return Job(id=job_id, kind=row.kind, attempts=row.attempts, max_attempts=row.max_attempts,
                   payload=row.payload, last_error=row.last_error, status="running", lease_owner=self.worker_id)

    async def _execute_alone(self, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        """One statement, atomic on its own; the first row it returned, if any."""
        async with self.db.single_statements() as conn:
            result = await conn.execute(stmt, params)
            return result.first() if result.returns_rows else None

    def _custom_leases(self) -> tuple[tuple[str, int], ...]:
        default = self.settings.job_lease_seconds
        return tuple(sorted((kind, spec.lease_seconds) for kind, spec in HANDLERS.items()
                            if spec.lease_seconds and spec.lease_seconds != default))

    def _lease_seconds(self, kind: str) -> int:
        spec = HANDLERS.get(kind)
        return (spec.lease_seconds if spec and spec.lease_seconds else None) or self.settings.job_lease_seconds

    async def execute(self, job_id: str) -> str | None:
        job = await self.claim(job_id)
        if job is None:
            return None
        spec = HANDLERS.get(job.kind)
        if spec is None:
            await self._finish(job, "failed", error=f"no handler registered for job kind {job.kind!r}")
            return "failed"
        max_attempts = spec.max_attempts or job.max_attempts
        if job.attempts > max_attempts:
            await self._finish(job, "failed", error=job.last_error or "the worker running this job was lost")
            return "failed"
        ctx = JobContext(job.id, job.kind, job.attempts, dict(job.payload), self.db, self.settings,
                         self.worker_id, self._lease_seconds(job.kind))
        keeper = asyncio.create_task(self._keep_lease(ctx))
        try:
            result = await spec.handler(ctx)
        except PermanentJobError as exc:
            await self._finish(job, "failed", error=str(exc))
            return "failed"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("job.failed_attempt", job_id=job.id, kind=job.kind, attempt=job.attempts, error=error,
                        trace=traceback.format_exc(limit=5))
            if job.attempts >= max_attempts:
                await self._finish(job, "failed", error=error)
                return "failed"
            await self._retry(job, error)
            return "retry"
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await self._finish(job, "succeeded", result=result)
        return "succeeded"

    async def _keep_lease(self, ctx: JobContext) -> None:
        while True:
            await asyncio.sleep(max(ctx.lease_seconds / 3, 0.5))
            with contextlib.suppress(Exception):
                await ctx.heartbeat()

    async def _finish(self, job: Job, status: str, *, error: str | None = None,
                      result: dict[str, Any] | None = None) -> None:
        now = utcnow()
        values: dict[str, Any] = dict(status=status, result=result, finished_at=now, updated_at=now,
                                      lease_expires_at=None)
        if error is not None:  # on success keep the previous attempt's error for the record
            values["last_error"] = error
        await self._execute_alone(update(Job.__table__).where(Job.__table__.c.id == job.id,
                                                              Job.__table__.c.lease_owner == self.worker_id)
                                  .values(**values))
        log.info("job.finished", job_id=job.id, kind=job.kind, status=status, attempts=job.attempts)

    async def _retry(self, job: Job, error: str) -> None:
        now = utcnow()
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.lease_owner == self.worker_id)
                .values(status="queued", last_error=error, lease_owner=None, lease_expires_at=None,
                        run_at=now + dt.timedelta(seconds=retry_delay(job.attempts)), updated_at=now)
            )


class Reconciler:
    """Publishes jobs that are due (new, retried, or whose worker's lease expired) and enqueues
    periodic jobs. Safe to run in every process: claiming is atomic and periodic slots are unique."""

    BATCH = 500

    def __init__(self, db: Database, broker: Broker, settings: Settings) -> None:
        self.db = db
        self.broker = broker
        self.settings = settings
        load_task_modules()

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:  # database briefly unreachable: try again next tick
                log.warning("reconciler.tick_failed", error=str(exc))
            await asyncio.sleep(self.settings.reconcile_interval_seconds)

    async def tick(self) -> int:
        await self._enqueue_periodic()
        now = utcnow()
        # Queued jobs published recently are probably still in the broker; give them a lease's time.
        stale_publish = now - dt.timedelta(seconds=self.settings.job_lease_seconds)
        async with self.db.session() as session, session.begin():
            ids = list((await session.scalars(
                select(Job.id).where(
                    or_(
                        and_(Job.status == "queued", Job.run_at <= now,
                             or_(Job.published_at.is_(None), Job.published_at < stale_publish)),
                        and_(Job.status == "running", Job.lease_expires_at < now),
                    )
                ).order_by(Job.run_at).limit(self.BATCH)
            )).all())
            if ids:
                await session.execute(update(Job).where(Job.id.in_(ids)).values(published_at=now)
                                      .execution_options(synchronize_session=False))
        if ids:
            await self.broker.publish(ids)
        return len(ids)

    async def _enqueue_periodic(self) -> None:
        now = utcnow()
        for spec in PERIODIC.values():
            slot = int(now.timestamp()) // spec.every_seconds
            try:
                async with self.db.session() as session, session.begin():
                    exists = await session.scalar(select(Job.id).where(Job.dedupe_key == f"{spec.kind}:{slot}"))
                    if exists is None:
                        enqueue(session, spec.kind, dict(spec.payload), dedupe_key=f"{spec.kind}:{slot}")
            except IntegrityError:
                continue  # another process enqueued this slot first
