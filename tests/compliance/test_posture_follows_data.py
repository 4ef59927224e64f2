"""Posture follows platform data: a scan finding exposed Telnet fails the mapped requirements in all four
frameworks with that finding as evidence, records compliance.changed, and resolving it turns them back.

Findings are recorded through the scans service layer in the test-mode (sandbox) partition for a
documentation address: no packet is sent anywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from cybervault.compliance.service import evaluate_and_record
from cybervault.events.models import Event
from cybervault.kit.ids import new_id
from cybervault.scanner.findings import findings_for_port
from cybervault.scanner.models import PortResult, ServiceInfo
from cybervault.scans.cves import draft_to_input
from cybervault.scans.models import Finding, Scan
from cybervault.scans.results import complete_scan, record_findings
from tests.helpers import OrgKeys

HOST = "203.0.113.23"  # documentation range: stands for a public address in the sandbox
MAPPED = [("soc2", "CC6.6"), ("iso27001", "8.20"), ("hipaa", "164.312(e)(1)"), ("gdpr", "5(1)(f)")]


async def _record_telnet_scan(db: Any, org_id: str) -> list[str]:
    async with db.session() as session:
        scan = Scan(id=new_id("sc"), org_id=org_id, livemode=False, target=HOST, depth="standard",
                    status="running", progress={})
        session.add(scan)
        await session.flush()
        drafts = findings_for_port(PortResult(HOST, 23, service=ServiceInfo("telnet", banner="login:")))
        await record_findings(session, scan, [draft_to_input(d) for d in drafts])
        await complete_scan(session, scan)
        await session.commit()
        ids = (await session.scalars(select(Finding.id).where(Finding.scan_id == scan.id))).all()
    return list(ids)


async def _evaluate(db: Any, org_id: str) -> Any:
    async with db.session() as session:
        record = await evaluate_and_record(session, org_id, False, trigger="data_change")
        await session.commit()
    return record


def _req(posture: dict[str, Any], fw_id: str, req_id: str) -> dict[str, Any]:
    fw = next(f for f in posture["frameworks"] if f["id"] == fw_id)
    return next(r for r in fw["requirements"] if r["id"] == req_id)


async def test_exposed_telnet_fails_and_recovers(org: OrgKeys, db: Any) -> None:
    baseline = await _evaluate(db, org.id)
    assert baseline.baseline
    before = (await org.test.get("/v1/compliance/posture")).json()
    before_status = {key: _req(before, *key)["status"] for key in MAPPED}
    assert "fail" not in before_status.values()

    finding_ids = await _record_telnet_scan(db, org.id)
    assert finding_ids
    record = await _evaluate(db, org.id)
    flips = {(fw, req): (b, a) for fw, req, b, a in record.changes}
    for key in MAPPED:
        assert flips[key] == (before_status[key], "fail")

    posture = (await org.test.get("/v1/compliance/posture")).json()
    for key in MAPPED:
        req = _req(posture, *key)
        assert req["status"] == "fail", (key, req)
        exposed = next(c for c in req["controls"] if c["id"] == "EXPOSED-SERVICES")
        assert exposed["status"] == "fail"
        assert set(exposed["evidence"][0]["object_ids"]) & set(finding_ids)
        assert HOST in exposed["evidence"][0]["details"]["hosts"]
    # The gap carries the remediation and the finding as failing evidence; fixing it lifts every
    # requirement it fails (to partial here: the org has attested nothing, so they cannot fully pass).
    gap = next(g for g in posture["gaps"] if g["control"] == "EXPOSED-SERVICES")
    assert gap["status"] == "fail" and "Telnet" in gap["remediation"]
    assert set(gap["evidence"][0]["object_ids"]) & set(finding_ids)
    assert gap["requirements_improved"] >= len(MAPPED)
    cleartext = next(c for c in posture["controls"] if c["control"] == "CLEARTEXT-PROTOCOLS")
    assert cleartext["status"] == "fail"
    # The live partition of the same org is untouched.
    live = (await org.live.get("/v1/compliance/posture")).json()
    assert _req(live, "soc2", "CC6.6")["status"] != "fail"

    async with db.session() as session:
        events = (await session.scalars(select(Event).where(
            Event.org_id == org.id, Event.livemode.is_(False), Event.type == "compliance.changed"))).all()
    changed = {(e.data["object"]["framework"], e.data["object"]["requirement"]): e.data["object"] for e in events}
    for key in MAPPED:
        assert changed[key]["before"] == before_status[key] and changed[key]["after"] == "fail"
        assert any(c["id"] == "EXPOSED-SERVICES" and c["status"] == "fail" for c in changed[key]["controls"])

    # Fix it: the findings are resolved, and the requirements return to where they were.
    async with db.session() as session:
        await session.execute(update(Finding).where(Finding.id.in_(finding_ids)).values(status="resolved"))
        await session.commit()
    record = await _evaluate(db, org.id)
    flips = {(fw, req): (b, a) for fw, req, b, a in record.changes}
    for key in MAPPED:
        assert flips[key] == ("fail", before_status[key])
    posture = (await org.test.get("/v1/compliance/posture")).json()
    assert {key: _req(posture, *key)["status"] for key in MAPPED} == before_status
