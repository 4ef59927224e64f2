"""Real services in a namespace the test creates: what each depth reports for each of them."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from lab import LAB_PORTS, Lab

from tests.scanner.conftest import cli_scan, run_in

pytestmark = [pytest.mark.netns, pytest.mark.slow]
LAB_PORT_SPEC = ",".join(str(p) for p in LAB_PORTS.values())


def upstream_version(package: str) -> str:
    """Debian package version without epoch and Debian revision: 1:9.2p1-2+deb12u10 -> 9.2p1."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.split(":")[-1].split("-")[0]


def ports_of(doc: dict[str, Any]) -> dict[int, dict[str, Any]]:
    assert [h["host"] for h in doc["hosts"]] == ["127.0.0.1"]
    return {p["port"]: p for p in doc["hosts"][0]["ports"]}


def findings_of(doc: dict[str, Any], port: int) -> dict[str, dict[str, Any]]:
    return {f["type"]: f for f in doc["findings"] if f["port"] == port}


PY_VERSION = "{}.{}.{}".format(*sys.version_info[:3])


@pytest.mark.parametrize("depth", ["quick", "standard", "deep"])
def test_each_lab_service_at_each_depth(lab: Lab, depth: str) -> None:
    doc = cli_scan(lab, "127.0.0.1", "--depth", depth, "--ports", LAB_PORT_SPEC)
    ports = ports_of(doc)
    assert set(ports) == set(LAB_PORTS.values())

    # Services that greet first are fully identified at every depth, from the banner alone.
    ssh = ports[22]["service"]
    assert (ssh["name"], ssh["product"], ssh["version"]) == ("ssh", "OpenSSH", upstream_version("openssh-server"))
    major, _, patch = ssh["version"].partition("p")
    assert ssh["cpe"] == f"cpe:2.3:a:openbsd:openssh:{major}:p{patch}:*:*:*:*:*:*"
    assert ssh["extra"]["distro"] == "Debian"
    ftp = ports[21]["service"]
    assert (ftp["name"], ftp["product"], ftp["version"]) == ("ftp", "ProFTPD", "1.3.8")
    assert ftp["cpe"] == "cpe:2.3:a:proftpd:proftpd:1.3.8:*:*:*:*:*:*:*"
    assert ports[23]["service"]["name"] == "telnet"
    assert findings_of(doc, 21)["cleartext_protocol"]["details"] == "FTP on port 21 sends credentials in cleartext"
    assert findings_of(doc, 23)["cleartext_protocol"]["severity"] == "high"
    for port in LAB_PORTS.values():
        assert findings_of(doc, port)["open_port"]["details"].startswith(f"Port {port}")

    http, https, redis = ports[80]["service"], ports[8443]["service"], ports[6379]["service"]
    if depth == "quick":
        # Banner only: silent services are named from their port, with no product claimed.
        assert (http["name"], http["product"]) == ("http", None)
        assert (redis["name"], redis["product"]) == ("redis", None)
        assert ports[6379]["unauthenticated"] is False
        assert findings_of(doc, 80)["open_port"]["details"] == "Port 80 open on 127.0.0.1"
        return

    assert (http["name"], http["product"], http["version"]) == ("http", "Python http.server", PY_VERSION)
    assert http["extra"]["title"] == "CyberVault lab"
    assert (https["name"], https["product"], https["version"]) == ("https", "Python http.server", PY_VERSION)
    assert (redis["name"], redis["product"], redis["version"]) == ("redis", "Redis", upstream_version("redis-server"))
    assert redis["cpe"] == f"cpe:2.3:a:redis:redis:{redis['version']}:*:*:*:*:*:*:*"
    assert findings_of(doc, 6379)["open_port"] == {
        **findings_of(doc, 6379)["open_port"],
        "severity": "medium",
        "details": "Port 6379 (Redis) open on 127.0.0.1",
    }

    if depth == "standard":
        # Access and TLS checks belong to deep scans.
        assert ports[6379]["unauthenticated"] is False and ports[8443]["tls"] is None
        assert {"unauthenticated_service", "weak_tls", "certificate_problem"}.isdisjoint(
            f["type"] for f in doc["findings"]
        )
        return

    assert ports[6379]["unauthenticated"] is True
    unauth = findings_of(doc, 6379)["unauthenticated_service"]
    assert (unauth["severity"], unauth["details"]) == ("high", "Redis on port 6379 answers without authentication")
    tls = ports[8443]["tls"]
    assert tls["expired"] is True and tls["self_signed"] is True
    assert tls["subject"].startswith("CN=lab.cybervault.test") and tls["not_after"].startswith("2021-01-01")
    assert "TLSv1.0" in tls["versions"] and "TLSv1.2" in tls["versions"]
    cert = findings_of(doc, 8443)["certificate_problem"]
    assert cert["details"] == "Certificate on port 8443 expired on 2021-01-01 and is self-signed"
    weak = findings_of(doc, 8443)["weak_tls"]
    assert re.fullmatch(r"TLS on port 8443 accepts TLSv1\.0(, TLSv1\.1)? \(below TLS 1\.2\)", weak["details"])
    assert ports[80]["tls"] is None


def test_depth_port_sets(lab: Lab) -> None:
    """quick sweeps nmap's top 100, standard the top 1000, deep every port (Redis's 6379 is in
    neither top list)."""
    found = {d: set(ports_of(cli_scan(lab, "127.0.0.1", "--depth", d))) for d in ("quick", "standard", "deep")}
    assert found["quick"] == found["standard"] == {21, 22, 23, 80, 8443}
    assert found["deep"] == {21, 22, 23, 80, 8443, 6379}


def test_self_connect_is_not_an_open_port(fresh_lab: Lab) -> None:
    """With a one-port ephemeral range, a connect to that port from the same address 'succeeds'
    with nothing listening: the classic loopback self-connect. The sweep must not call it open."""
    fresh_lab.ip("link", "set", "lo", "up")
    subprocess.run(fresh_lab.cmd(["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40000"]), check=True)
    res = run_in(fresh_lab, (
        "import socket\n"
        "s = socket.create_connection(('127.0.0.1', 40000), 2)\n"
        "print('naive', s.getsockname()[1]); s.close()\n"
        "from cybervault.scanner.sweep import sweep\n"
        "r = sweep([('127.0.0.1', [40000])])[0]\n"
        "print('sweep', r.open_ports, r.self_connects)\n"
    ))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:2] == ["naive 40000", "sweep [] 1"]


def test_cancel_stops_scans_within_a_second(fresh_lab: Lab) -> None:
    """Silent targets with a 5 s timeout would take minutes; cancel must end the scan within a
    second: a range in discovery (sweep thread) and one host's full sweep (worker processes)."""
    fresh_lab.add_silent_range("10.77.0.0/24", live=[])
    res = run_in(fresh_lab, (
        "import asyncio, time\n"
        "from cybervault.scanner import run_scan, ScanOptions\n"
        "async def scan(target, after):\n"
        "    cancel = asyncio.Event()\n"
        "    asyncio.get_running_loop().call_later(after, cancel.set)\n"
        "    t0 = time.monotonic()\n"
        "    opts = ScanOptions(depth='deep', connect_timeout=5.0)\n"
        "    got = [h.host async for h in run_scan([target], opts, cancel=cancel)]\n"
        "    print(round(time.monotonic() - t0 - after, 3), len(got))\n"
        "async def main():\n"
        "    await scan('10.77.0.0/24', 0.5)\n"
        "    await scan('10.77.0.7', 1.0)\n"
        "asyncio.run(main())\n"
    ))  # fmt: skip
    assert res.returncode == 0, res.stderr
    for line in res.stdout.splitlines():
        late, hosts = line.split()
        assert float(late) < 1.0 and hosts == "0"
    assert len(res.stdout.splitlines()) == 2


def test_killed_sweep_worker_fails_the_scan(fresh_lab: Lab) -> None:
    """A worker process killed mid-sweep must surface as an error, not as a clean empty result."""
    fresh_lab.add_silent_range("10.77.0.0/24", live=[])
    res = run_in(fresh_lab, (
        "import asyncio, os, signal\n"
        "from pathlib import Path\n"
        "from cybervault.scanner import run_scan, ScanOptions\n"
        "from cybervault.scanner.backends import SweepWorkerError\n"
        "def kill_a_worker():\n"
        "    kids = Path(f'/proc/{os.getpid()}/task/{os.getpid()}/children').read_text().split()\n"
        "    os.kill(int(kids[0]), signal.SIGKILL)\n"
        "async def main():\n"
        "    asyncio.get_running_loop().call_later(1.0, kill_a_worker)\n"
        "    try:\n"
        "        [h async for h in run_scan(['10.77.0.7'], ScanOptions(depth='deep', connect_timeout=5.0))]\n"
        "    except SweepWorkerError as exc:\n"
        "        print('failed:', exc)\n"
        "asyncio.run(main())\n"
    ))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("failed: sweep worker") and "status -9" in res.stdout


def test_discovery_finds_only_live_hosts(fresh_lab: Lab) -> None:
    fresh_lab.add_silent_range("10.77.0.0/24", live=["10.77.0.5", "10.77.0.9"])
    fresh_lab.start_listeners(["10.77.0.9@2222"])
    doc = cli_scan(fresh_lab, "10.77.0.0/24", "--ports", "22,2222", "--timeout", "0.3",
                   env_allow="10.77.0.0/24")  # fmt: skip
    hosts = {h["host"]: [p["port"] for p in h["ports"]] for h in doc["hosts"]}
    assert hosts == {"10.77.0.5": [], "10.77.0.9": [2222]}


def test_quick_scan_of_a_whole_range(fresh_lab: Lab) -> None:
    """256 addresses x top 100 ports: discovery in the sweep thread, then a sweep split by hosts
    across worker processes. Only live hosts come back, each with exactly its open ports."""
    live = [f"10.77.0.{i}" for i in range(1, 256, 16)]
    fresh_lab.add_silent_range("10.77.0.0/24", live=live)
    fresh_lab.start_listeners([f"{live[0]}@22", f"{live[0]}@80", f"{live[5]}@443"])
    doc = cli_scan(fresh_lab, "10.77.0.0/24", "--depth", "quick", env_allow="10.77.0.0/24")
    found = {h["host"]: sorted(p["port"] for p in h["ports"]) for h in doc["hosts"]}
    assert found == {h: {live[0]: [22, 80], live[5]: [443]}.get(h, []) for h in live}
