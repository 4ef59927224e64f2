"""CyberVault started the way `make run` starts it: `cybervault bootstrap`, then `cybervault serve`.

Each server gets its own working directory, so it uses the default `./cybervault.db` SQLite file and runs
jobs in its own process (embedded mode), and reads no `.env` of the checkout. Its whole process group is
stopped on exit, whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import free_port, poll_until
from tests.jobs.procs import CLI

BOOTSTRAP_KEYS = re.compile(r"live key: (?P<live>cv_live_\S+)\s+test key: (?P<test>cv_test_\S+)")


@dataclass
class ServedCyberVault:
    url: str
    live_key: str
    test_key: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def wait_ready(self, timeout: float = 60.0) -> None:
        async def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"cybervault serve exited with {self.process.returncode}:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(timeout=1.0) as http:
                    return (await http.get(f"{self.url}/healthz")).status_code == 200
            return False

        await poll_until(healthy, timeout=timeout, interval=0.1, message=f"{self.url}/healthz")

    def client(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30.0, headers={"Authorization": f"Bearer {key}"})


def make_run_env(port: int, **settings: str) -> dict[str, str]:
    """The caller's environment without any CYBERVAULT_ setting, plus the port and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYBERVAULT_")}
    env.update({"CYBERVAULT_PORT": str(port), "CYBERVAULT_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"})
    env.update({f"CYBERVAULT_{name.upper()}": value for name, value in settings.items()})
    # The subprocess imports the same source tree as this test run.
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group, SIGKILL if it has not exited in time; always reaped."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)


@contextlib.contextmanager
def make_run(workdir: Path, **settings: str) -> Iterator[ServedCyberVault]:
    """Bootstrap and serve in `workdir`; yields once the process is started (call `wait_ready`)."""
    port = free_port()
    env = make_run_env(port, **settings)
    boot = subprocess.run([CLI, "bootstrap"], cwd=workdir, env=env, capture_output=True, text=True, timeout=180)
    assert boot.returncode == 0, boot.stderr
    keys = BOOTSTRAP_KEYS.search(boot.stderr)
    assert keys is not None, f"bootstrap printed no keys:\n{boot.stderr}"
    log = workdir / "serve.log"
    with log.open("ab") as sink:
        process = subprocess.Popen([CLI, "serve"], cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield ServedCyberVault(f"http://127.0.0.1:{port}", keys["live"], keys["test"], process, log)
    finally:
        _stop(process)
