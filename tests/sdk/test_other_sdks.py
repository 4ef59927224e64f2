"""The Node.js, Go and Ruby SDKs' own test suites, run against a live server and a fresh organization.

Each SDK's tests (shared conformance scenario, webhook fixtures, retries against a local flaky server,
live resource calls) run in their own toolchain as a subprocess; its failure fails the test here and its
output is printed. The server and keys reach them through CYBERVAULT_BASE_URL, CYBERVAULT_API_KEY (live key)
and CYBERVAULT_TEST_API_KEY (test key); CYBERVAULT_LIMITED_API_KEY belongs to an organization limited to
3 requests a minute, so each SDK also meets the server's real 429. They run on the SQLite backend only: the
Python SDK already covers both backends, and this keeps the three suites well inside their time budget.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import LiveServer, make_org

SDKS = Path(__file__).resolve().parents[2] / "sdks"
TIMEOUT = 240  # seconds per command; the suites take a fraction of this


@pytest.fixture
async def sdk_env(backend: dict[str, Any], app: Any, live_server: LiveServer) -> dict[str, str]:
    if backend["name"] != "sqlite":
        pytest.skip("the other SDKs run once, on the SQLite backend")
    keys = await make_org(app, "Other SDKs org")
    # A second organization limited to 3 requests a minute, for the SDKs' test against the server's own 429.
    limited = await make_org(app, "Other SDKs rate-limited org", rate_limit=3)
    for client in (keys.live, keys.test, limited.live, limited.test):
        await client.aclose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYBERVAULT_")}
    env.update(CYBERVAULT_BASE_URL=live_server.url, CYBERVAULT_API_KEY=keys.live_key,
               CYBERVAULT_TEST_API_KEY=keys.test_key, CYBERVAULT_LIMITED_API_KEY=limited.test_key, NO_COLOR="1")
    return env


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package {package}; .ci/run installs it)")
    return path


async def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    # In a thread: the session event loop also runs the app fixture's jobs and must keep turning.
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)

    result = await asyncio.to_thread(run)
    output = f"$ {' '.join(args)}  (in {cwd.name})\n{result.stdout}\n{result.stderr}"
    if result.returncode != 0:
        pytest.fail(f"exit status {result.returncode}\n{output}", pytrace=False)
    return output


async def test_node_sdk(sdk_env: dict[str, str], tmp_path: Path) -> None:
    _require("node", "nodejs")
    npm = _require("npm", "npm")
    source = SDKS / "node"
    if not (source / "node_modules" / "typescript").is_dir():
        await _run([npm, "ci", "--no-audit", "--no-fund"], source, sdk_env)
    # Build and test a copy: another run of the suite in this tree must not delete dist/ under this one.
    cwd = tmp_path / "sdks" / "node"
    shutil.copytree(source, cwd, ignore=shutil.ignore_patterns("node_modules", "dist", ".quickstart-*"))
    (cwd / "node_modules").symlink_to(source / "node_modules", target_is_directory=True)
    (tmp_path / "sdks" / "conformance").symlink_to(SDKS / "conformance", target_is_directory=True)
    await _run([npm, "run", "build"], cwd, sdk_env)
    output = await _run([npm, "test"], cwd, sdk_env)
    assert "# fail 0" in output and "# skipped 0" in output, output


async def test_go_sdk(sdk_env: dict[str, str]) -> None:
    go = _require("go", "golang-go")
    # A build cache that outlives the run keeps later runs fast; standard library only, so no downloads.
    cache = Path(tempfile.gettempdir()) / "cybervault-sdk-go"
    env = {**sdk_env, "GOCACHE": str(cache / "build"), "GOPATH": str(cache / "path"), "GOFLAGS": "-mod=mod",
           "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOENV": "off", "CGO_ENABLED": "0"}
    output = await _run([go, "test", "-count=1", "-v", "./..."], SDKS / "go", env)
    assert "--- SKIP" not in output, output
    assert "--- PASS: TestConformanceScenario" in output, output


async def test_ruby_sdk(sdk_env: dict[str, str]) -> None:
    ruby = _require("ruby", "ruby")
    output = await _run([ruby, "-Ilib", "-Itest", "test/all.rb", "--verbose"], SDKS / "ruby", sdk_env)
    assert " 0 failures, 0 errors, 0 skips" in output, output
