"""serve, worker, migrate and bootstrap."""

from __future__ import annotations

import asyncio
import signal

import typer
from rich.console import Console

from cybervault.config import get_settings

console = Console(stderr=True)


def _migrate_now() -> None:
    from cybervault.kit.db import Database
    from cybervault.kit.migrate import upgrade_database

    settings = get_settings()

    async def run() -> None:
        db = Database(settings.database_url, pool_size=1)
        try:
            await upgrade_database(db)
        finally:
            await db.dispose()

    asyncio.run(run())


def migrate() -> None:
    """Apply database migrations and load the shipped data (safe to run repeatedly)."""
    _migrate_now()
    console.print("Database is up to date.")


def serve(
    host: str | None = typer.Option(None, help="Bind address (default CYBERVAULT_HOST)"),
    port: int | None = typer.Option(None, help="Port (default CYBERVAULT_PORT)"),
    workers: int = typer.Option(1, help="API processes (PostgreSQL + Redis only)"),
    no_migrate: bool = typer.Option(False, "--no-migrate", help="Do not apply migrations at start"),
) -> None:
    """Run the API server. Without Redis, background jobs run inside this process."""
    import uvicorn

    settings = get_settings()
    if not no_migrate:
        _migrate_now()
    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        raise typer.BadParameter("--workers > 1 needs PostgreSQL and Redis (CYBERVAULT_DATABASE_URL, "
                                 "CYBERVAULT_REDIS_URL)")
    mode = "in-process jobs" if settings.jobs_in_process else "jobs run by `cybervault worker`"
    console.print(f"CyberVault on http://{host or settings.host}:{port or settings.port} ({mode})")
    uvicorn.run("cybervault.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
                workers=workers, log_level="warning", proxy_headers=False, server_header=False,
                timeout_graceful_shutdown=10)


def worker(concurrency: int | None = typer.Option(None, help="Jobs run at once (default "
                                                             "CYBERVAULT_WORKER_CONCURRENCY)")) -> None:
    """Run background jobs from the Redis queue (scaled mode). Start as many as you like."""
    from cybervault.jobs.broker import RedisStreamBroker, set_broker
    from cybervault.jobs.runner import JobRunner, Reconciler, bounded, cancel_and_wait
    from cybervault.kit.db import Database
    from cybervault.kit.logging import configure_logging
    from cybervault.vulns.match_cache import start_warming

    settings = get_settings()
    if not settings.redis_url:
        raise typer.BadParameter("`cybervault worker` needs CYBERVAULT_REDIS_URL; without Redis, "
                                 "`cybervault serve` runs jobs itself")
    configure_logging(settings.log_level, settings.log_json)

    async def run() -> None:
        db = Database(settings.database_url, pool_size=max(4, (concurrency or settings.worker_concurrency) + 2),
                      pgbouncer=settings.database_pgbouncer)
        broker = RedisStreamBroker(settings.redis_url or "", settings.redis_prefix)
        set_broker(broker, db.engine.sync_engine)
        runner = JobRunner(db, broker, settings, concurrency=concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(runner.run()), asyncio.create_task(Reconciler(db, broker, settings).run())]
        warming = start_warming(db.engine, settings.vuln_match_index)
        if warming is not None:
            tasks.append(warming)
        console.print(f"worker {runner.worker_id} started (concurrency {runner.concurrency})")
        await stop.wait()
        await cancel_and_wait(tasks)
        await runner.shutdown()  # unfinished jobs are picked up again once their lease expires
        await bounded(broker.close())
        await db.dispose()

    asyncio.run(run())


def bootstrap() -> None:
    """First run: create a demo organization with one live and one test key, and print them once."""
    from sqlalchemy import func, select

    from cybervault.cli.common import run_with_session
    from cybervault.keys.service import create_key
    from cybervault.orgs.models import Organization
    from cybervault.orgs.service import create_org

    _migrate_now()

    async def work(session, settings):  # type: ignore[no-untyped-def]
        if await session.scalar(select(func.count()).select_from(Organization)):
            return None
        org = await create_org(session, "Demo organization")
        secret = settings.secret_key.get_secret_value()
        _, live = await create_key(session, org_id=org.id, livemode=True, name="demo live", server_secret=secret)
        _, test = await create_key(session, org_id=org.id, livemode=False, name="demo test", server_secret=secret)
        return org, live, test, settings

    created = run_with_session(work)
    if created is None:
        console.print("Using the existing database. Create a new key with:\n"
                      "  .venv/bin/cybervault orgs list\n"
                      "  .venv/bin/cybervault keys create --org <org_id> --mode live")
        return
    org, live, test, settings = created
    base = settings.public_base_url
    console.print(f"\nCreated organization {org.id} with two API keys (shown once; store them now):\n")
    console.print(f"  live key: {live}\n  test key: {test}\n", highlight=False, soft_wrap=True)
    console.print("Try it (sandbox scan of the example network; test keys never send packets):", highlight=False)
    console.print(f"  curl -H \"Authorization: Bearer {test}\" \\\n"
                  f"    \"{base}/v1/threats/scan?target_ip=192.168.1.0/24&depth=standard\"\n",
                  highlight=False, soft_wrap=True)
