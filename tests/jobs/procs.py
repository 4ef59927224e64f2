"""Real `cybervault` subprocesses for multi-process tests: start, wait until serving, kill by pid."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from cybervault.config import Settings

CLI = str(Path(sys.executable).with_name("cybervault"))


def cli_env(settings: Settings, database_url: str, redis_url: str | None, **extra: Any) -> dict[str, str]:
    """Environment for a subprocess sharing the test's secrets (so keys made in-process work there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYBERVAULT_")}
    env.update({
        "CYBERVAULT_ENV": "test",
        "CYBERVAULT_DATABASE_URL": database_url,
        "CYBERVAULT_SECRET_KEY": settings.secret_key.get_secret_value(),
        "CYBERVAULT_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "CYBERVAULT_LOG_LEVEL": "warning",
        "CYBERVAULT_REDIS_PREFIX": f"cvproc:{secrets.token_hex(6)}",
        "CYBERVAULT_RECONCILE_INTERVAL_SECONDS": "0.3",
        "CYBERVAULT_JOB_LEASE_SECONDS": "3",
        "CYBERVAULT_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    })
    if redis_url:
        env["CYBERVAULT_REDIS_URL"] = redis_url
    env.update({f"CYBERVAULT_{k.upper()}": str(v) for k, v in extra.items()})
    # Make the subprocess import the same source tree as this test run.
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log_path = log
        self._log: IO[bytes] = log.open("ab")
        # Own session, so a multi-process server (uvicorn --workers) can be stopped as one group.
        self.popen = subprocess.Popen([CLI, *args], env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal this process's own group (it and the children it spawned), then reap it."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=20)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def wait_http(url: str, proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"{proc.args} exited early:\n{proc.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready after {timeout}s:\n{proc.output()}")


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            proc.stop()


def migrate(env: dict[str, str]) -> None:
    result = subprocess.run([CLI, "migrate"], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
