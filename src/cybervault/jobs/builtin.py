"""Built-in job kinds used to check that workers are alive (`cybervault jobs probe`) and in tests."""

from __future__ import annotations

import asyncio
from typing import Any

from cybervault.jobs.registry import job_handler
from cybervault.jobs.runner import JobContext


@job_handler("diagnostics.sleep", max_attempts=3, lease_seconds=3)
async def diagnostics_sleep(ctx: JobContext) -> dict[str, Any]:
    """Sleeps `seconds` (bounded to 30) and reports which worker ran it."""
    seconds = min(float(ctx.payload.get("seconds", 0)), 30.0)
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(min(0.1, deadline - asyncio.get_running_loop().time()))
    if ctx.payload.get("fail_times", 0) >= ctx.attempt:
        raise RuntimeError(f"asked to fail attempt {ctx.attempt}")
    return {"worker_id": ctx.worker_id, "attempt": ctx.attempt}
