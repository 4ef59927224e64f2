"""Durable jobs: enqueued after commit, run once, retried with backoff, failed with the error kept.

Deadlines are generous because other domains' periodic jobs share the runner with these tests."""

from __future__ import annotations

from typing import Any

from cybervault.jobs.models import Job
from cybervault.jobs.service import enqueue
from tests.helpers import poll_until


async def _status(app: Any, job_id: str) -> Job | None:
    async with app.state.db.session() as session:
        return await session.get(Job, job_id)


async def test_job_runs_after_commit(app: Any) -> None:
    async with app.state.db.session() as session:
        job = enqueue(session, "diagnostics.sleep", {"seconds": 0})
        await session.commit()
    done = await poll_until(lambda: _finished(app, job.id), timeout=60, message="job to finish")
    assert done.status == "succeeded"
    assert done.result["attempt"] == 1


async def test_rolled_back_job_is_never_run(app: Any) -> None:
    async with app.state.db.session() as session:
        job = enqueue(session, "diagnostics.sleep", {"seconds": 0})
        await session.flush()
        await session.rollback()
    assert await _status(app, job.id) is None


async def test_failing_job_retries_then_succeeds(app: Any) -> None:
    async with app.state.db.session() as session:
        job = enqueue(session, "diagnostics.sleep", {"seconds": 0, "fail_times": 1})
        await session.commit()
    done = await poll_until(lambda: _finished(app, job.id), timeout=60, message="retried job")
    assert done.status == "succeeded"
    assert done.attempts == 2
    assert "asked to fail attempt 1" in (done.last_error or "")


async def test_job_that_keeps_failing_ends_failed_with_error(app: Any) -> None:
    async with app.state.db.session() as session:
        job = enqueue(session, "diagnostics.sleep", {"seconds": 0, "fail_times": 99}, max_attempts=1)
        await session.commit()
    done = await poll_until(lambda: _finished(app, job.id), timeout=60, message="failed job")
    assert done.status == "failed"
    assert "asked to fail" in (done.last_error or "")


async def test_unknown_kind_fails_without_retry(app: Any) -> None:
    async with app.state.db.session() as session:
        job = enqueue(session, "no.such.kind", {})
        await session.commit()
    done = await poll_until(lambda: _finished(app, job.id), timeout=60, message="unknown kind")
    assert done.status == "failed"
    assert "no handler" in (done.last_error or "")


async def _finished(app: Any, job_id: str) -> Job | None:
    job = await _status(app, job_id)
    return job if job is not None and job.status in ("succeeded", "failed") else None
