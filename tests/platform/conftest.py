"""Platform test helpers: a second app on the same database with different limits."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx

from cybervault.config import Settings


@contextlib.asynccontextmanager
async def extra_app(settings: Settings, **overrides: Any) -> AsyncIterator[Any]:
    """Another app process-alike on the run's database (already migrated), with its own rate-limit
    counters (a fresh Redis prefix) so limits set here do not leak into other tests."""
    from cybervault.app import create_app
    from cybervault.jobs.broker import get_broker, set_broker

    previous = get_broker()  # the lifespan swaps the process-wide broker; give the session app its own back
    overrides.setdefault("redis_prefix", f"{settings.redis_prefix}:{secrets.token_hex(4)}")
    overrides.setdefault("run_jobs_in_process", False)
    app = create_app(settings.model_copy(update=overrides), migrate=False)
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        set_broker(previous)


def client_of(app: Any, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers)


def flat_routes(app: Any) -> list[tuple[str, set[str], Any]]:
    """(path template, methods, endpoint) for every route; FastAPI may nest included routers."""
    out: list[tuple[str, set[str], Any]] = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for item in contexts() if callable(contexts) else [route]:
            path = getattr(item, "path", None)
            if path:
                out.append((path, set(getattr(item, "methods", None) or ()), getattr(item, "endpoint", None)))
    return out
