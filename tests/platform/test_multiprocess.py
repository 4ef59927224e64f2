"""The per-key limit is exact across API processes: 4 uvicorn workers on PostgreSQL + Redis, 700 concurrent
requests with one key whose org limit is 600 → exactly 600 succeed and 100 get 429 with Retry-After."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from cybervault.config import Settings
from tests.helpers import free_port, make_org
from tests.jobs.procs import Proc, cli_env, running, wait_http

pytestmark = pytest.mark.slow


async def test_limit_is_exact_across_four_processes(backend: dict[str, Any], settings: Settings, app: Any,
                                                    tmp_path: Path) -> None:
    if backend["name"] != "postgres":
        pytest.skip("several API processes need PostgreSQL and Redis")
    org = await make_org(app, "Exact limit", rate_limit=600)
    await org.live.aclose()
    await org.test.aclose()
    port = free_port()
    env = cli_env(settings, backend["database_url"], backend["redis_url"])
    server = Proc(["serve", "--no-migrate", "--workers", "4", "--host", "127.0.0.1", "--port", str(port)], env,
                  tmp_path / "serve.log")
    with running(server):
        wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=90)
        limits = httpx.Limits(max_connections=700, max_keepalive_connections=700)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120,
                                     headers={"Authorization": f"Bearer {org.live_key}"}) as client:
            responses = await asyncio.gather(*[client.get("/v1/api_keys", params={"limit": 1})
                                               for _ in range(700)])
    statuses = [r.status_code for r in responses]
    others = [(r.status_code, r.text[:200]) for r in responses if r.status_code not in (200, 429)]
    assert statuses.count(200) == 600, f"{statuses.count(200)} succeeded; others: {others[:3]}"
    assert statuses.count(429) == 100, f"{statuses.count(429)} limited; others: {others[:3]}"
    for response in responses:
        assert response.headers["x-ratelimit-limit"] == "600"
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["x-ratelimit-remaining"] == "0"
            assert response.json()["error"]["code"] == "rate_limit_exceeded"
    # X-RateLimit-Remaining is read just after the atomic increment, so under this much concurrency it
    # is a close estimate; the count of admitted requests above is what is exact.
    assert min(int(r.headers["x-ratelimit-remaining"]) for r in responses) == 0
