"""`cybervault scan`: scope enforcement, bad input, JSON and table output."""

from __future__ import annotations

import json
import os
import sys

import pytest
from typer.testing import CliRunner, Result

from cybervault.cli.scan import app
from tests.scanner import servers


def run_cli(*args: str, allowed: str | None = None, monkeypatch: pytest.MonkeyPatch) -> Result:
    """In-process run for commands that end before any packet is sent."""
    from cybervault.config import get_settings

    if allowed is None:
        monkeypatch.delenv("CYBERVAULT_SCAN_ALLOWED_NETWORKS", raising=False)
    else:
        monkeypatch.setenv("CYBERVAULT_SCAN_ALLOWED_NETWORKS", allowed)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("target", ["10.0.0.1", "192.168.1.0/24", "8.8.8.8", "2001:db8::1"])
def test_refuses_targets_outside_allowed_networks(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    res = run_cli(target, "--ports", "22", monkeypatch=monkeypatch)
    assert res.exit_code == 3
    assert "target_out_of_scope" in res.output


def test_operator_setting_narrows_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    res = run_cli("127.0.0.1", "--ports", "22", allowed="127.0.0.2/32", monkeypatch=monkeypatch)
    assert res.exit_code == 3 and "127.0.0.1" in res.output


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["300.1.1.1"], "TARGET"),
        (["127.0.0.1", "--ports", "0-5"], "--ports"),
        (["127.0.0.1", "--depth", "x"], "--depth"),
    ],
)
def test_bad_input_is_a_usage_error(args: list[str], hint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    res = run_cli(*args, monkeypatch=monkeypatch)
    assert res.exit_code == 2 and hint in res.output


async def test_json_output_of_a_scan() -> None:
    import asyncio

    async with servers.serve(servers.http_handler) as port:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cybervault.cli.scan", "127.0.0.1", "--ports", str(port), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    doc = json.loads(out)
    (host,) = doc["hosts"]
    (found,) = host["ports"]
    assert (found["port"], found["service"]["product"], found["service"]["version"]) == (port, "nginx", "1.22.1")
    assert doc["findings"][0]["details"] == f"Port {port} (nginx) open on 127.0.0.1"


async def test_table_output_lists_findings() -> None:
    import asyncio

    async with servers.serve(servers.http_handler) as port:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cybervault.cli.scan", "127.0.0.1", "--ports", str(port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "nginx" in text and "open_port" in text and f"Port {port} (nginx) open on 127.0.0.1" in text


def test_hostnames_resolve_to_every_address() -> None:
    from cybervault.cli.scan import resolve

    addresses = resolve("localhost", 16)  # resolution only: nothing is scanned here
    assert addresses and set(addresses) <= {"127.0.0.1", "::1"}
    assert resolve("10.0.0.0/31", 16) == ["10.0.0.0", "10.0.0.1"]
