"""Live scans end to end, against servers these tests start on 127.0.0.1 (and only their ports)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cybervault.events.models import Event
from cybervault.scans.models import Finding
from tests.helpers import OrgKeys
from tests.scans.conftest import LoopbackServers, banner, register, wait_finished


async def _events(app: Any, org_id: str, type_: str) -> list[Event]:
    async with app.state.db.session() as session:
        return list((await session.scalars(
            select(Event).where(Event.org_id == org_id, Event.type == type_).order_by(Event.id))).all())


async def test_scan_finds_and_identifies_a_local_service(app: Any, org: OrgKeys, ssh_port: int) -> None:
    asset = await register(org.live, "127.0.0.1")
    response = await org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.1", "depth": "standard",
                                                              "wait": 30})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["livemode"] is True
    assert body["progress"]["percent"] == 100.0 and body["progress"]["ports_total"] == 1
    assert body["threats_found"] == len(body["findings"]) >= 1
    exposed = next(f for f in body["findings"] if f["type"] == "open_port")
    assert exposed["host"] == "127.0.0.1" and exposed["port"] == ssh_port and exposed["protocol"] == "tcp"
    assert exposed["details"] == f"Port {ssh_port} (OpenSSH) open on 127.0.0.1"
    assert exposed["severity"] == "low"  # SSH on loopback
    assert exposed["service"]["product"] == "OpenSSH" and exposed["service"]["version"] == "9.2p1"
    assert exposed["service"]["cpe"].startswith("cpe:2.3:a:openbsd:openssh:9.2:p1")
    for finding in body["findings"]:
        if finding["type"] == "vulnerable_service":  # a Debian banner: a backport may have fixed it
            assert finding["confidence"] == "potential" and finding["cve"].startswith("CVE-")
            assert finding["details"] == "OpenSSH 9.2p1 detected"

    # The same object through the other endpoints.
    fetched = (await org.live.get(f"/v1/threats/scans/{body['id']}")).json()
    assert fetched["findings"] == body["findings"]
    listed = (await org.live.get("/v1/threats/findings", params={"host": "127.0.0.1", "type": "open_port"})).json()
    assert exposed["id"] in [f["id"] for f in listed["data"]]
    completed = await _events(app, org.id, "scan.completed")
    assert [e.data["object"]["id"] for e in completed] == [body["id"]]
    detected = await _events(app, org.id, "threat.detected")
    assert len(detected) == body["threats_found"]
    assert (await org.live.get(f"/v1/assets/{asset['id']}")).json()["last_scanned_at"] is not None


async def test_rescan_updates_findings_instead_of_duplicating(app: Any, org: OrgKeys, ssh_port: int) -> None:
    await register(org.live, "127.0.0.1")
    first = (await org.live.post("/v1/threats/scans", json={"target_ip": "127.0.0.1", "depth": "quick",
                                                           "include_vulns": False})).json()
    assert first["status"] == "queued" and first["target"] == "127.0.0.1"
    first = await wait_finished(org, first["id"])
    assert first["status"] == "completed"
    async with app.state.db.session() as session:
        before = {f.id: (f.first_seen, f.last_seen) for f in (await session.scalars(
            select(Finding).where(Finding.org_id == org.id))).all()}

    second = await wait_finished(org, (await org.live.post("/v1/threats/scans", json={
        "target_ip": "127.0.0.1", "depth": "quick", "include_vulns": False})).json()["id"])
    assert {f["id"] for f in second["findings"]} == {f["id"] for f in first["findings"]}
    async with app.state.db.session() as session:
        after = {f.id: (f.first_seen, f.last_seen, f.scan_id) for f in (await session.scalars(
            select(Finding).where(Finding.org_id == org.id))).all()}
    assert after.keys() == before.keys()
    for finding_id, (first_seen, last_seen, scan_id) in after.items():
        assert first_seen == before[finding_id][0]
        assert last_seen > before[finding_id][1]
        assert scan_id == second["id"]
    assert len(await _events(app, org.id, "threat.detected")) == len(before)  # nothing new the second time
    # The first scan still shows what it found.
    again = (await org.live.get(f"/v1/threats/scans/{first['id']}")).json()
    assert {f["id"] for f in again["findings"]} == {f["id"] for f in first["findings"]}


async def test_finding_status_changes(org: OrgKeys, ssh_port: int) -> None:
    await register(org.live, "127.0.0.1")
    scan = await wait_finished(org, (await org.live.post("/v1/threats/scans", json={
        "target_ip": "127.0.0.1", "depth": "quick", "include_vulns": False})).json()["id"])
    finding = scan["findings"][0]
    url = f"/v1/threats/findings/{finding['id']}"

    no_reason = await org.live.patch(url, json={"status": "accepted_risk"})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["param"] == "reason"
    bad = await org.live.patch(url, json={"status": "ignored"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "status"
    accepted = await org.live.patch(url, json={"status": "accepted_risk", "reason": "Bastion host, by design"})
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted_risk"
    assert accepted.json()["status_reason"] == "Bastion host, by design"
    assert (await org.live.get("/v1/threats/findings", params={"status": "accepted_risk"})).json()["data"][0]["id"] \
        == finding["id"]

    resolved = (await org.live.patch(url, json={"status": "resolved"})).json()
    assert resolved["status"] == "resolved"
    # Still there on the next scan: the finding reopens, with the reason saying why.
    await wait_finished(org, (await org.live.post("/v1/threats/scans", json={
        "target_ip": "127.0.0.1", "depth": "quick", "include_vulns": False})).json()["id"])
    reopened = (await org.live.get(url)).json()
    assert reopened["status"] == "open" and "Seen again" in reopened["status_reason"]


async def test_scan_of_a_host_with_several_services(org: OrgKeys, loopback: LoopbackServers,
                                                    scan_ports: list[int]) -> None:
    redis_port = await loopback.start(_redis_without_password)
    ftp_port = await loopback.start(banner(b"220 (vsFTPd 3.0.3)\r\n"))
    scan_ports.extend([redis_port, ftp_port])
    await register(org.live, "127.0.0.0/24")
    body = (await org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.1", "depth": "deep",
                                                          "include_vulns": "false", "wait": 30})).json()
    assert body["status"] == "completed"
    kinds = {(f["type"], f["port"]) for f in body["findings"]}
    assert ("open_port", redis_port) in kinds and ("open_port", ftp_port) in kinds
    assert ("cleartext_protocol", ftp_port) in kinds
    assert ("unauthenticated_service", redis_port) in kinds
    assert not any(f["type"] == "vulnerable_service" for f in body["findings"])  # include_vulns=false


async def _redis_without_password(reader: Any, writer: Any) -> None:
    info = (b"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux\r\n")
    while True:
        line = await reader.readline()
        if not line:
            return
        text = line.decode(errors="replace").strip().upper()
        if text.startswith("*"):  # RESP array: read the rest of the command
            parts = []
            for _ in range(int(text[1:] or 0)):
                await reader.readline()
                parts.append((await reader.readline()).decode(errors="replace").strip().upper())
            text = " ".join(parts)
        if text.startswith("INFO"):
            writer.write(b"$%d\r\n%s\r\n" % (len(info), info))
        elif text.startswith("PING"):
            writer.write(b"+PONG\r\n")
        elif text:
            writer.write(b"-ERR unknown command\r\n")
        await writer.drain()


async def test_live_isolation_across_orgs_and_modes(org: OrgKeys, other_org: OrgKeys, ssh_port: int) -> None:
    await register(org.live, "127.0.0.1")
    scan = await wait_finished(org, (await org.live.post("/v1/threats/scans", json={
        "target_ip": "127.0.0.1", "depth": "quick", "include_vulns": False})).json()["id"])
    finding_id = scan["findings"][0]["id"]
    for client in (other_org.live, org.test):
        assert (await client.get(f"/v1/threats/scans/{scan['id']}")).status_code == 404
        assert (await client.post(f"/v1/threats/scans/{scan['id']}/cancel")).status_code == 404
        assert (await client.get(f"/v1/threats/findings/{finding_id}")).status_code == 404
        assert (await client.patch(f"/v1/threats/findings/{finding_id}",
                                   json={"status": "resolved"})).status_code == 404
        assert (await client.get("/v1/threats/scans")).json()["data"] == []
        assert (await client.get("/v1/threats/findings")).json()["data"] == []
    # The other org's registered loopback asset does not let it scan with ours either way.
    assert (await other_org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.1"})).status_code == 403


async def test_scopes_on_scan_endpoints(org: OrgKeys) -> None:
    reader = org.client_for(await org.make_key(kind="rk", scopes=["scans:read"]))
    async with reader:
        assert (await reader.get("/v1/threats/scans")).status_code == 200
        assert (await reader.get("/v1/threats/findings")).status_code == 200
        denied = await reader.get("/v1/threats/scan", params={"target_ip": "127.0.0.1"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_permissions"
        assert (await reader.post("/v1/threats/scans", json={"target_ip": "127.0.0.1"})).status_code == 403
