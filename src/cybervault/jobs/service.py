"""Enqueueing: a job row is written in the caller's transaction and published only after it commits
(a transactional outbox), so a worker never sees a job whose data is not there yet."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import structlog
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from cybervault.jobs.broker import Broker, get_broker
from cybervault.jobs.models import Job
from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id

log = structlog.get_logger(__name__)
_PENDING = "cybervault_pending_jobs"
_background: set[asyncio.Task[None]] = set()


def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: dt.datetime | None = None,
    max_attempts: int = 5,
    org_id: str | None = None,
    dedupe_key: str | None = None,
) -> Job:
    """Add a job to the session's transaction. It is published when (and only if) the transaction commits."""
    now = utcnow()
    job = Job(
        id=new_id("job"), kind=kind, payload=payload or {}, status="queued", attempts=0,
        max_attempts=max_attempts, run_at=run_at or now, org_id=org_id, dedupe_key=dedupe_key,
        created_at=now, updated_at=now,
    )
    if job.run_at <= now + dt.timedelta(seconds=1):
        session.sync_session.info.setdefault(_PENDING, []).append(job.id)
        if job.run_at <= now and get_broker(session.sync_session.bind) is not None:
            # Due and published right after commit: the reconciler leaves it a lease's time before
            # publishing it again, instead of duplicating every message of a backlog on its next tick.
            job.published_at = now
    session.add(job)
    return job


@event.listens_for(Session, "after_commit")
def _publish_after_commit(sync_session: Session) -> None:
    job_ids = sync_session.info.pop(_PENDING, None)
    broker = get_broker(sync_session.bind)
    if not job_ids or broker is None:
        return  # no broker in this process (e.g. the CLI): the reconciler publishes them
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(_publish(broker, job_ids))
    _background.add(task)
    task.add_done_callback(_background.discard)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(sync_session: Session) -> None:
    if sync_session.in_nested_transaction():
        return  # a savepoint: the outer transaction, and the jobs it enqueued, may still commit
    sync_session.info.pop(_PENDING, None)


async def _publish(broker: Broker, job_ids: list[str]) -> None:
    try:
        await broker.publish(job_ids)
    except Exception as exc:  # the reconciler will publish them again
        log.warning("jobs.publish_failed", error=str(exc), count=len(job_ids))


async def get_job(session: AsyncSession, job_id: str) -> Job | None:
    return await session.get(Job, job_id)


async def jobs_by_status(session: AsyncSession, kind: str | None = None) -> dict[str, int]:
    from sqlalchemy import func

    stmt = select(Job.status, func.count()).group_by(Job.status)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return {status: count for status, count in (await session.execute(stmt)).all()}
