"""Scanner fixtures: a namespace lab (root only) and helpers to run the scanner inside it.

Scan traffic in these tests goes only to the lab's own namespace, to ports of servers the tests
start on 127.0.0.1/::1, or to the machine's database and broker ports (5432, 6379, 3306, 5672,
1883, 4222).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from lab import Lab, can_run  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_lab() -> None:
    ok, reason = can_run()
    if not ok:
        if IN_CI:
            pytest.fail(f"namespace lab must run under CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    require_lab()
    with Lab("cvtest") as lab:
        lab.start_services()
        yield lab


@pytest.fixture
def fresh_lab() -> Iterator[Lab]:
    """An empty namespace of its own, for tests that change its settings."""
    require_lab()
    with Lab("cvtest") as lab:
        yield lab


def cli_scan(lab: Lab, *args: str, timeout: float = 120, env_allow: str | None = None) -> dict[str, Any]:
    """Run ``cybervault scan ... --json`` inside the lab namespace and return its document."""
    env = {"CYBERVAULT_SCAN_ALLOWED_NETWORKS": env_allow} if env_allow else None
    res = lab.run([sys.executable, "-m", "cybervault.cli.scan", *args, "--json"], timeout=timeout, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def run_in(lab: Lab, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return lab.run([sys.executable, "-c", code], timeout=timeout)
