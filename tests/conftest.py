"""Shared fixtures. Tests that touch storage run once per backend:

- `sqlite`: an embedded SQLite file, in-memory rate limits, in-process jobs;
- `postgres`: a fresh PostgreSQL database made for this run, Redis rate limits and a Redis job stream.

Under CI=true a backend that cannot be reached fails the run instead of skipping.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cybervault.config import Settings
from cybervault.kit.db import Database
from tests.helpers import LiveServer, OrgKeys, make_org

PG_ADMIN_DSN = os.environ.get("CYBERVAULT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CYBERVAULT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = [b for b in os.environ.get("CYBERVAULT_TEST_BACKENDS", "sqlite,postgres").split(",") if b]


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"required service unavailable under CI: {reason}")
    pytest.skip(reason)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _redis_ok() -> bool:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


def base_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        env="test",
        secret_key="test-secret-key-for-hmac-000000000000",
        encryption_key="test-encryption-key-000000000000000000",
        log_level="warning",
        rate_limit_per_minute=100_000,
        auth_failure_limit_per_minute=100_000,
        webhook_allowed_networks=["127.0.0.0/8", "::1/128"],
        webhook_retry_scale=0.001,
        reconcile_interval_seconds=0.2,
        job_lease_seconds=5,
        run_jobs_in_process=True,
        public_base_url="http://testserver",
        database_pool_size=4,
        # Off for the suite's shared apps: a rebuild after the CVE tests' imports runs in the session app's
        # event loop and delayed other tests' jobs. tests/vulns/test_match_index.py turns it on.
        vuln_match_index=False,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session", autouse=True)
def _no_unbounded_live_scans() -> Iterator[None]:
    """Safety net for the whole suite: a live scan started in this process must name the ports of servers
    the test started (tests/scans and tests/topology install their own narrowing); anything else fails
    before a packet is sent instead of sweeping the shared loopback's top ports. Fixtures that narrow the
    engine for a directory are function-scoped: a wider scope would outlive its directory, because pytest
    groups tests by backend and keeps such fixtures alive across the groups."""
    from cybervault.scans import runner

    def refuse(depth: str) -> Any:
        raise RuntimeError("tests may not run live scans without naming the ports of servers they started")

    original = runner.engine_options
    runner.engine_options = refuse  # type: ignore[assignment]
    yield
    runner.engine_options = original  # type: ignore[assignment]


@pytest.fixture(scope="session", params=BACKENDS)
async def backend(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """Connection settings for one storage backend, with a database made for this test run."""
    if request.param == "sqlite":
        path = Path(tmp_path_factory.mktemp("db")) / "cybervault.db"
        yield {"name": "sqlite", "database_url": f"sqlite+aiosqlite:///{path}", "redis_url": None}
        return
    name = f"cv_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        unavailable(f"PostgreSQL at {PG_ADMIN_DSN} unreachable: {exc}")
    if not await _redis_ok():
        unavailable(f"Redis at {REDIS_URL} unreachable")
    try:
        yield {"name": "postgres", "database_url": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
               "redis_url": REDIS_URL, "redis_prefix": f"cvtest:{name}"}
    finally:
        try:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:
            pass


@pytest.fixture(scope="session")
def settings(backend: dict[str, Any]) -> Settings:
    extra = {"redis_prefix": backend["redis_prefix"]} if backend.get("redis_prefix") else {}
    return base_settings(database_url=backend["database_url"], redis_url=backend["redis_url"], **extra)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    from cybervault.app import create_app

    application = create_app(settings, migrate=True)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def db(app: Any) -> Database:
    return app.state.db


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def org(app: Any) -> AsyncIterator[OrgKeys]:
    keys = await make_org(app)
    yield keys
    await keys.live.aclose()
    await keys.test.aclose()


@pytest.fixture
async def other_org(app: Any) -> AsyncIterator[OrgKeys]:
    keys = await make_org(app, "Other org")
    yield keys
    await keys.live.aclose()
    await keys.test.aclose()


@pytest.fixture(scope="session")
def live_server(settings: Settings, app: Any) -> Iterator[LiveServer]:
    """Shares the database with `app` (which has already migrated it)."""
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()
