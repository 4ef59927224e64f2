"""Test helpers shared by every domain's tests: org factories, a live server, polling with a deadline."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from cybervault.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OrgKeys:
    """An organization made for one test, with a live and a test secret key and clients for each."""

    id: str
    live_key: str
    test_key: str
    live: httpx.AsyncClient
    test: httpx.AsyncClient
    app: Any

    async def make_key(self, *, livemode: bool = True, kind: str = "sk", scopes: list[str] | None = None,
                       **kwargs: Any) -> str:
        from cybervault.keys.service import create_key

        async with self.app.state.db.session() as session:
            _, plaintext = await create_key(
                session, org_id=self.id, livemode=livemode, kind=kind, scopes=scopes,
                server_secret=self.app.state.settings.secret_key.get_secret_value(), **kwargs)
            await session.commit()
        return plaintext

    def client_for(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {key}"})


async def make_org(app: Any, name: str = "Test org", rate_limit: int | None = None) -> OrgKeys:
    from cybervault.keys.service import create_key
    from cybervault.orgs.service import create_org

    secret = app.state.settings.secret_key.get_secret_value()
    async with app.state.db.session() as session:
        org = await create_org(session, name, rate_limit_per_minute=rate_limit)
        _, live = await create_key(session, org_id=org.id, livemode=True, server_secret=secret)
        _, test = await create_key(session, org_id=org.id, livemode=False, server_secret=secret)
        await session.commit()
    transport = httpx.ASGITransport(app=app)
    return OrgKeys(
        id=org.id, live_key=live, test_key=test, app=app,
        live=httpx.AsyncClient(transport=transport, base_url="http://testserver",
                               headers={"Authorization": f"Bearer {live}"}),
        test=httpx.AsyncClient(transport=transport, base_url="http://testserver",
                               headers={"Authorization": f"Bearer {test}"}),
    )


class LiveServer:
    """A real uvicorn server on a free loopback port, in its own thread and event loop."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from cybervault.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Jobs are left to the session app's runner: one consumer per process keeps every job on the
        # event loop that owns the test's servers and fixtures.
        settings = settings.model_copy(update={"public_base_url": self.url, "run_jobs_in_process": False})
        self.app = create_app(settings, migrate=False)  # the session app migrated already
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


# Long enough for the slow-but-correct paths under a loaded CI machine: a webhook's first attempt that
# the inline sender could not make is made by its own job after a grace period (lease + timeout + 5 s).
DEFAULT_POLL_TIMEOUT = 30.0


async def poll_until(predicate: Any, *, timeout: float = DEFAULT_POLL_TIMEOUT, interval: float = 0.05,
                     message: str = "condition") -> Any:
    """Await `predicate()` (sync or async) until it returns a truthy value or the deadline passes.
    The deadline only costs time when a test fails, so it is generous."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)
