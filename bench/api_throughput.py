"""API overhead benchmark: the same load generator, in the same run, against an authenticated,
rate-limited list endpoint (GET /v1/api_keys, one org with a very high limit) and against /healthz of
the same `cybervault serve` process. Runs on SQLite, and on PostgreSQL + Redis when both answer (in a
temporary database). Prints p50/p99 and rps for both, and last:

    api_overhead_ratio=<authed rps / bare rps>   (the lower of the backends measured; target >= 0.5)

Usage: .venv/bin/python bench/api_throughput.py [--requests 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("cybervault"))
PG_ADMIN = os.environ.get("CYBERVAULT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("CYBERVAULT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-" + secrets.token_hex(16)
ROUNDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(database_url: str, redis_url: str | None, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYBERVAULT_")}
    env.update({
        "CYBERVAULT_ENV": "test", "CYBERVAULT_DATABASE_URL": database_url, "CYBERVAULT_SECRET_KEY": SECRET,
        "CYBERVAULT_ENCRYPTION_KEY": SECRET, "CYBERVAULT_LOG_LEVEL": "error", "CYBERVAULT_PORT": str(port),
        "CYBERVAULT_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CYBERVAULT_REDIS_PREFIX": f"cvbench:{secrets.token_hex(4)}",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p),
    })
    if redis_url:
        env["CYBERVAULT_REDIS_URL"] = redis_url
    return env


async def make_org_and_key(database_url: str) -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from cybervault.keys.service import create_key
    from cybervault.kit.db import Database
    from cybervault.orgs.service import create_org

    db = Database(database_url, pool_size=1)
    try:
        async with db.session() as session:
            org = await create_org(session, "Benchmark", rate_limit_per_minute=100_000_000)
            _, key = await create_key(session, org_id=org.id, livemode=False, server_secret=SECRET)
            await session.commit()
    finally:
        await db.dispose()
    return key


@contextlib.contextmanager
def server(env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen([CLI, "serve", "--no-migrate", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
            yield
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def load(client: httpx.AsyncClient, path: str, total: int, concurrency: int) -> tuple[float, list[float]]:
    """`concurrency` closed-loop clients share `total` requests; returns (rps, latencies in seconds)."""
    latencies: list[float] = []
    remaining = total

    async def one_client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            try:
                response = await client.get(path)
            except httpx.TransportError:  # the server closed an idle keep-alive connection; reconnect
                start = time.perf_counter()
                response = await client.get(path)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*[one_client() for _ in range(concurrency)])
    return total / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000


async def measure(label: str, base: str, key: str, requests: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        authed_path = "/v1/api_keys?limit=10"
        for path in ("/healthz", authed_path):  # warm up connections, caches and the pool
            await load(client, path, max(200, requests // 10), concurrency)
        # Alternate short rounds so that load from anything else on the machine hits both sides alike.
        bare: list[float] = []
        authed: list[float] = []
        bare_time = authed_time = 0.0
        per_round = max(1, requests // ROUNDS)
        for _ in range(ROUNDS):
            rps, lat = await load(client, "/healthz", per_round, concurrency)
            bare_time += per_round / rps
            bare += lat
            rps, lat = await load(client, authed_path, per_round, concurrency)
            authed_time += per_round / rps
            authed += lat
        bare_rps, authed_rps = len(bare) / bare_time, len(authed) / authed_time
    ratio = authed_rps / bare_rps
    print(f"[{label}] /healthz        {bare_rps:8.0f} rps  p50 {pct(bare, 50):6.2f} ms  p99 {pct(bare, 99):6.2f} ms")
    print(f"[{label}] /v1/api_keys    {authed_rps:8.0f} rps  p50 {pct(authed, 50):6.2f} ms  "
          f"p99 {pct(authed, 99):6.2f} ms")
    print(f"[{label}] ratio {ratio:.3f}", flush=True)
    return ratio


def migrate(env: dict[str, str]) -> None:
    subprocess.run([CLI, "migrate"], env=env, check=True, capture_output=True, timeout=300)


async def run_sqlite(args: argparse.Namespace, tmp: Path) -> float:
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    port = free_port()
    env = env_for(url, None, port)
    migrate(env)
    key = await make_org_and_key(url)
    with server(env, port, tmp / "sqlite.log"):
        return await measure("sqlite", f"http://127.0.0.1:{port}", key, args.requests, args.concurrency)


async def postgres_reachable() -> bool:
    import asyncpg
    import redis.asyncio as aioredis

    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
        await conn.close()
        client = aioredis.from_url(REDIS)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()
    except Exception:
        return False


async def run_postgres(args: argparse.Namespace, tmp: Path) -> float:
    import asyncpg

    name = f"cv_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        port = free_port()
        env = env_for(url, REDIS, port)
        migrate(env)
        key = await make_org_and_key(url)
        with server(env, port, tmp / "postgres.log"):
            return await measure("postgres+redis", f"http://127.0.0.1:{port}", key, args.requests, args.concurrency)
    finally:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory(prefix="cv-bench-") as tmp:
        ratios.append(await run_sqlite(args, Path(tmp)))
        if not args.sqlite_only and await postgres_reachable():
            ratios.append(await run_postgres(args, Path(tmp)))
        elif not args.sqlite_only:
            print("[postgres+redis] skipped: PostgreSQL or Redis not reachable")
    print(f"api_overhead_ratio={min(ratios):.3f}")


if __name__ == "__main__":
    asyncio.run(main())
