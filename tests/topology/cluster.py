"""A private deployment for multi-process tests and the load benchmark: our own PostgreSQL (initdb into a
temp dir, free port) and Redis, N API processes and M workers. Nothing here touches the machine's shared
PostgreSQL or Redis, so they can be restarted and stopped at will."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from tests.helpers import poll_until

PG_BIN = Path(os.environ.get("CYBERVAULT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path(__file__).resolve().parents[2]
SECRET = "topology-secret-key-000000000000000000"
ENCRYPTION = "topology-encryption-key-0000000000000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def available() -> str | None:
    """Why this topology cannot run here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL server binaries in {PG_BIN}"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    return None


class OwnPostgres:
    def __init__(self, base: Path) -> None:
        self.dir = base / "pg"
        self.socket_dir = base / "pgsock"
        self.port = free_port()
        self.log = base / "pg.log"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / args[0]), *args[1:]]), check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        for path in (self.dir, self.socket_dir):
            path.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir.parent, "postgres")
            for path in (self.dir, self.socket_dir):
                shutil.chown(path, "postgres")
            self.log.touch()
            shutil.chown(self.log, "postgres")
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync", timeout=120)
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run("pg_ctl", "-D", str(self.dir), "-o", options, "-l", str(self.log), "-w", "start", timeout=60)

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.dir), "-m", mode, "-w", "stop", timeout=60)

    def create_database(self, name: str) -> None:
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", f'CREATE DATABASE "{name}"')


class OwnRedis:
    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.log = base / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("own redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class CvProcess:
    """One `cybervault` process (through tests.topology.launch), in its own process group."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log_path = log
        self._log: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen([sys.executable, "-m", "tests.topology.launch", *args], env=env, cwd=ROOT,
                                      stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def send_signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)
        if self.alive():
            self.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)
        if not self._log.closed:
            self._log.close()


@dataclass
class Cluster:
    base: Path
    pg: OwnPostgres
    redis: OwnRedis
    database: str = "cybervault"
    scan_ports: list[int] = field(default_factory=list)
    apis: list[CvProcess] = field(default_factory=list)
    workers: list[CvProcess] = field(default_factory=list)
    api_ports: list[int] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"cvtopo:{secrets.token_hex(4)}")

    @property
    def database_url(self) -> str:
        return self.pg.url(self.database)

    def env(self, **extra: Any) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CYBERVAULT_")}
        env.update({
            "CYBERVAULT_ENV": "test", "CYBERVAULT_DATABASE_URL": self.database_url,
            "CYBERVAULT_REDIS_URL": self.redis.url, "CYBERVAULT_REDIS_PREFIX": self.prefix,
            "CYBERVAULT_SECRET_KEY": SECRET, "CYBERVAULT_ENCRYPTION_KEY": ENCRYPTION,
            "CYBERVAULT_LOG_LEVEL": "warning", "CYBERVAULT_RECONCILE_INTERVAL_SECONDS": "0.5",
            "CYBERVAULT_JOB_LEASE_SECONDS": "5", "CYBERVAULT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "CYBERVAULT_WEBHOOK_RETRY_SCALE": "0.01", "CYBERVAULT_DATABASE_POOL_SIZE": "10",
            "CYBERVAULT_TEST_SCAN_PORTS": ",".join(map(str, self.scan_ports)),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        })
        env.update({f"CYBERVAULT_{k.upper()}": str(v) for k, v in extra.items()})
        return env

    def migrate(self) -> None:
        result = subprocess.run([sys.executable, "-m", "tests.topology.launch", "migrate"], env=self.env(),
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed: {result.stderr[-2000:]}")

    def start_api(self, **extra: Any) -> CvProcess:
        port = free_port()
        proc = CvProcess(["serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
                         self.env(public_base_url=f"http://127.0.0.1:{port}", **extra),
                         self.base / f"api-{len(self.apis)}.log")
        self.apis.append(proc)
        self.api_ports.append(port)
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc)
        return proc

    def start_worker(self, **extra: Any) -> CvProcess:
        proc = CvProcess(["worker", "--concurrency", "8"], self.env(**extra),
                         self.base / f"worker-{len(self.workers)}.log")
        self.workers.append(proc)
        return proc

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.api_ports]

    async def make_org(self, name: str, rate_limit: int | None = None) -> tuple[str, str, str]:
        """(org id, live key, test key), written straight to the database like `cybervault bootstrap`."""
        from cybervault.keys.service import create_key
        from cybervault.kit.db import Database
        from cybervault.orgs.service import create_org

        db = Database(self.database_url, pool_size=1)
        try:
            async with db.session() as session:
                org = await create_org(session, name, rate_limit_per_minute=rate_limit)
                _, live = await create_key(session, org_id=org.id, livemode=True, server_secret=SECRET)
                _, test = await create_key(session, org_id=org.id, livemode=False, server_secret=SECRET)
                await session.commit()
        finally:
            await db.dispose()
        return org.id, live, test

    def stop(self) -> None:
        for proc in [*self.apis, *self.workers]:
            proc.stop()
        self.redis.stop()
        self.pg.stop("immediate")


def wait_ready(url: str, proc: CvProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.args} exited early:\n{proc.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{proc.output()}")


@contextlib.contextmanager
def cluster(scan_ports: list[int] | None = None) -> Any:
    """Own PostgreSQL + Redis with a migrated database; start API and worker processes on the result."""
    base = Path(tempfile.mkdtemp(prefix="cv-topology-"))
    pg, redis = OwnPostgres(base), OwnRedis(base)
    topo = Cluster(base, pg, redis, scan_ports=list(scan_ports or []))
    try:
        pg.init()
        pg.create_database(topo.database)
        redis.start()
        topo.migrate()
        yield topo
    finally:
        topo.stop()
        shutil.rmtree(base, ignore_errors=True)


async def poll(predicate: Any, timeout: float = 30.0, interval: float = 0.1, message: str = "condition") -> Any:
    """poll_until with the longer defaults that process start-up needs."""
    return await poll_until(predicate, timeout=timeout, interval=interval, message=message)
