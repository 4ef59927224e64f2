"""Test-mode keys: the seed's example exactly, fixed clean and failing targets, seeded results, and not
one socket opened."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any

import pytest
from sqlalchemy import select

from cybervault.events.models import Event
from cybervault.scans import runner
from tests.helpers import OrgKeys

SEED_FINDINGS = [
    {"type": "open_port", "severity": "medium", "details": "Port 22 exposed to public internet", "cve": None},
    {"type": "vulnerable_service", "severity": "critical", "details": "Apache Struts 2.5.10 detected",
     "cve": "CVE-2017-5638"},
]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


STORAGE_PORTS = {5432, 6379}  # the test backends' own PostgreSQL and Redis connections stay allowed


def _loopback(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("127.") or value in ("localhost", "::1"))


def _storage(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Connections the sandbox cannot have made: to storage, or to loopback listeners of other tests'
    background work (webhook receivers) that may still be running. Every sandbox target here is
    off-loopback, so a sandbox connection attempt is still caught."""
    values = [*args, *kwargs.values()]
    for value in values:
        if isinstance(value, tuple) and len(value) >= 2 and (value[1] in STORAGE_PORTS or _loopback(value[0])):
            return True
    if any(_loopback(v) for v in values):
        return True
    return any(v in STORAGE_PORTS for v in values if isinstance(v, int) and not isinstance(v, bool))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to connect, resolve or start the engine is recorded and refused."""
    attempts: list[str] = []

    def refuse(what: str, original: Any = None) -> Any:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if original is not None and _storage(args, kwargs):
                return original(*args, **kwargs)
            attempts.append(what)
            raise AssertionError(f"sandbox scan tried to {what}")
        return guarded

    monkeypatch.setattr(socket.socket, "connect", refuse("connect", socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect", socket.socket.connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("resolve", socket.getaddrinfo))
    monkeypatch.setattr(asyncio, "open_connection", refuse("open a connection", asyncio.open_connection))
    monkeypatch.setattr(runner, "run_scan", refuse("run the scan engine"))
    return attempts


async def test_seed_example_is_reproduced_exactly(org: OrgKeys, no_network: list[str]) -> None:
    response = await org.test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24", "depth": "standard"})
    assert response.status_code == 200
    body = response.json()
    assert list(body)[:5] == ["scan_id", "status", "threats_found", "findings", "timestamp"]
    assert body["scan_id"].startswith("sc_") and body["id"] == body["scan_id"]
    assert body["status"] == "completed"
    assert body["threats_found"] == 2
    assert [{k: f[k] for k in ("type", "severity", "details", "cve")} for f in body["findings"]] == SEED_FINDINGS
    assert ISO_Z.match(body["timestamp"])
    assert body["object"] == "scan" and body["livemode"] is False
    assert body["target"] == "192.168.1.0/24" and body["depth"] == "standard" and body["include_vulns"] is True
    assert body["progress"]["percent"] == 100.0
    assert body["progress"]["hosts_total"] == 256
    struts = body["findings"][1]
    assert struts["cvss"] == 10.0 and struts["kev"] is True and struts["confidence"] == "confirmed"
    assert struts["service"]["product"] == "Apache Struts" and struts["service"]["version"] == "2.5.10"
    assert struts["id"].startswith("fnd_") and struts["status"] == "open"
    assert no_network == []


async def test_every_sandbox_path_stays_off_the_network(org: OrgKeys, no_network: list[str]) -> None:
    await org.test.post("/v1/assets", json={"target": "scanme.example.com"})
    for target in ("10.1.2.3", "scanme.example.com", "203.0.113.13", "198.51.100.0/24", "2001:db8::/120"):
        for depth in ("quick", "standard", "deep"):
            response = await org.test.post("/v1/threats/scans", json={"target_ip": target, "depth": depth})
            assert response.status_code == 202, response.text
            assert response.json()["status"] in ("completed", "failed")
    assert no_network == []


async def test_clean_range_and_failing_host(org: OrgKeys) -> None:
    clean = (await org.test.get("/v1/threats/scan", params={"target_ip": "198.51.100.0/24"})).json()
    assert clean["status"] == "completed" and clean["threats_found"] == 0 and clean["findings"] == []

    failed = await org.test.get("/v1/threats/scan", params={"target_ip": "203.0.113.13"})
    assert failed.status_code == 200
    body = failed.json()
    assert body["status"] == "failed"
    assert "203.0.113.13" in body["error"]
    assert body["findings"] == []


async def test_other_targets_are_deterministic(org: OrgKeys, other_org: OrgKeys) -> None:
    def shape(body: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(f["type"], f["severity"], f["details"], f["cve"], f["host"], f["port"]) for f in body["findings"]]

    first = (await org.test.get("/v1/threats/scan", params={"target_ip": "10.20.0.0/24"})).json()
    again = (await other_org.test.get("/v1/threats/scan", params={"target_ip": "10.20.0.0/24"})).json()
    assert shape(first) == shape(again)
    assert first["threats_found"] == len(first["findings"])
    results = set()
    for i in range(12):
        body = (await org.test.get("/v1/threats/scan", params={"target_ip": f"10.30.{i}.7"})).json()
        assert body["status"] == "completed"
        assert all(f["host"] == f"10.30.{i}.7" for f in body["findings"])
        results.add(tuple(shape(body)))
    assert len(results) > 3  # different targets, different results


async def test_include_vulns_false_drops_cve_findings(org: OrgKeys) -> None:
    body = (await org.test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24",
                                                           "include_vulns": "false"})).json()
    assert body["threats_found"] == 1
    assert [f["type"] for f in body["findings"]] == ["open_port"]


async def test_sandbox_still_validates_syntax_and_size(org: OrgKeys) -> None:
    too_big = await org.test.get("/v1/threats/scan", params={"target_ip": "10.0.0.0/8"})
    assert too_big.status_code == 400
    assert too_big.json()["error"]["code"] == "target_too_large"
    bad = await org.test.get("/v1/threats/scan", params={"target_ip": "10.0.0.300"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_target"
    assert bad.json()["error"]["param"] == "target_ip"
    bad_host = await org.test.post("/v1/threats/scans", json={"target_ip": "under_score..example"})
    assert bad_host.status_code == 400 and bad_host.json()["error"]["param"] == "target_ip"
    missing = await org.test.get("/v1/threats/scan")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "target_ip"
    depth = await org.test.get("/v1/threats/scan", params={"target_ip": "10.0.0.1", "depth": "extreme"})
    assert depth.status_code == 400 and depth.json()["error"]["param"] == "depth"
    wait = await org.test.get("/v1/threats/scan", params={"target_ip": "10.0.0.1", "wait": "61"})
    assert wait.status_code == 400 and wait.json()["error"]["param"] == "wait"
    extra = await org.test.post("/v1/threats/scans", json={"target_ip": "10.0.0.1", "ports": [22]})
    assert extra.status_code == 400 and extra.json()["error"]["param"] == "ports"


async def test_sandbox_records_events_in_test_mode(org: OrgKeys, app: Any) -> None:
    body = (await org.test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24"})).json()
    async with app.state.db.session() as session:
        events = (await session.scalars(select(Event).where(Event.org_id == org.id))).all()
    completed = [e for e in events if e.type == "scan.completed"]
    assert [e.data["object"]["id"] for e in completed] == [body["id"]]
    assert all(e.livemode is False for e in events)
    detected = sorted(e.data["object"]["cve"] or "" for e in events if e.type == "threat.detected")
    assert detected == ["", "CVE-2017-5638"]
    # The same scan again finds nothing new, so no new threat.detected events.
    await org.test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24"})
    async with app.state.db.session() as session:
        again = (await session.scalars(select(Event).where(Event.org_id == org.id,
                                                           Event.type == "threat.detected"))).all()
    assert len(again) == 2


async def test_sandbox_findings_are_listed_and_isolated(org: OrgKeys) -> None:
    await org.test.get("/v1/threats/scan", params={"target_ip": "192.168.1.0/24"})
    critical = (await org.test.get("/v1/threats/findings", params={"severity": "critical"})).json()
    assert [f["cve"] for f in critical["data"]] == ["CVE-2017-5638"]
    by_cve = (await org.test.get("/v1/threats/findings", params={"cve": "cve-2017-5638"})).json()
    assert len(by_cve["data"]) == 1
    live = (await org.live.get("/v1/threats/findings")).json()
    assert live["data"] == []
    scans = (await org.test.get("/v1/threats/scans")).json()
    assert scans["object"] == "list" and scans["data"][0]["findings"]
