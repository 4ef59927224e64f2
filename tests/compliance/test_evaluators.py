"""Each automated evaluator against real rows: status, counts and the ids it quotes as evidence.

Rows are written in the test-mode (sandbox) partition with documentation addresses; nothing is scanned.
"""

from __future__ import annotations

import datetime as dt
import secrets
import socket
from typing import Any

from cybervault.assets.models import Asset
from cybervault.compliance.evaluation import ControlResult
from cybervault.compliance.service import control_results
from cybervault.incidents.models import Incident
from cybervault.kit.ids import new_id
from cybervault.scans.models import Finding, ScanSchedule
from cybervault.webhooks.models import Delivery, WebhookEndpoint
from tests.helpers import OrgKeys, poll_until

NOW = dt.datetime.now(dt.UTC)


def _days(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


async def _results(db: Any, org: OrgKeys, livemode: bool = False) -> dict[str, ControlResult]:
    async with db.session() as session:
        return await control_results(session, org.id, livemode, dt.datetime.now(dt.UTC), parallel=True)


async def _add(db: Any, *rows: Any) -> list[str]:
    async with db.session() as session:
        session.add_all(rows)
        await session.commit()
    return [r.id for r in rows]


def _finding(org: OrgKeys, **kw: Any) -> Finding:
    values: dict[str, Any] = dict(
        id=new_id("fnd"), org_id=org.id, livemode=False, fingerprint=secrets.token_hex(32), type="open_port",
        severity="medium", details="test", host="198.51.100.7", port=443, first_seen=NOW, last_seen=NOW,
        status="open", kev=False)
    values.update(kw)
    return Finding(**values)


def _incident(org: OrgKeys, **kw: Any) -> Incident:
    values: dict[str, Any] = dict(
        id=new_id("inc"), org_id=org.id, livemode=False, title="t", description="d", severity="high",
        status="open", priority="P2", created_at=_days(1), detected_at=_days(1),
        acknowledge_by=_days(1) + dt.timedelta(hours=1), resolve_by=_days(1) + dt.timedelta(days=2))
    values.update(kw)
    return Incident(**values)


def _ids(result: ControlResult) -> set[str]:
    return {i for e in result.evidence for i in e.object_ids}


async def test_remediation_sla_and_kev(org: OrgKeys, db: Any) -> None:
    assert (await _results(db, org))["VULN-REMEDIATION-SLA"].status == "pass"
    [high] = await _add(db, _finding(org, severity="high", type="vulnerable_service", first_seen=_days(40)))
    await _add(db, _finding(org, severity="high", first_seen=_days(5)))  # within SLA
    result = (await _results(db, org))["VULN-REMEDIATION-SLA"]
    assert result.status == "partial" and _ids(result) == {high}
    [crit] = await _add(db, _finding(org, severity="critical", type="vulnerable_service", first_seen=_days(20),
                                     kev=True, cve="CVE-2021-41773"))
    await _add(db, _finding(org, severity="critical", first_seen=_days(30), status="resolved"))
    results = await _results(db, org)
    assert results["VULN-REMEDIATION-SLA"].status == "fail"
    assert _ids(results["VULN-REMEDIATION-SLA"]) == {high, crit}
    assert results["KEV-REMEDIATION"].status == "fail" and _ids(results["KEV-REMEDIATION"]) == {crit}
    assert results["KEV-REMEDIATION"].evidence[0].count == 1


async def test_tls_cleartext_and_unauthenticated(org: OrgKeys, db: Any) -> None:
    results = await _results(db, org)
    for cid in ("TLS-HYGIENE", "CLEARTEXT-PROTOCOLS", "UNAUTHENTICATED-SERVICES", "EXPOSED-SERVICES"):
        assert results[cid].status == "pass", cid
    [weak] = await _add(db, _finding(org, type="weak_tls", severity="medium"))
    assert (await _results(db, org))["TLS-HYGIENE"].status == "partial"
    [cert] = await _add(db, _finding(org, type="certificate_problem", severity="high", port=8443))
    [redis] = await _add(db, _finding(org, type="unauthenticated_service", severity="high", port=6379,
                                      host="10.0.0.5"))
    [ftp] = await _add(db, _finding(org, type="cleartext_protocol", severity="medium", port=21, host="10.0.0.6"))
    results = await _results(db, org)
    assert results["TLS-HYGIENE"].status == "fail" and _ids(results["TLS-HYGIENE"]) == {weak, cert}
    assert results["UNAUTHENTICATED-SERVICES"].status == "fail" and _ids(results["UNAUTHENTICATED-SERVICES"]) == {redis}
    assert results["CLEARTEXT-PROTOCOLS"].status == "fail" and _ids(results["CLEARTEXT-PROTOCOLS"]) == {ftp}
    # Risky services on private addresses are findings, but not internet exposure.
    assert results["EXPOSED-SERVICES"].status == "pass"
    [public_redis] = await _add(db, _finding(org, type="unauthenticated_service", severity="critical", port=6379,
                                             host="198.51.100.9"))
    exposed = (await _results(db, org))["EXPOSED-SERVICES"]
    assert exposed.status == "fail" and _ids(exposed) == {public_redis}
    assert exposed.evidence[0].details["services"] == ["redis"]


async def test_asset_coverage_ownership_and_schedules(org: OrgKeys, db: Any) -> None:
    results = await _results(db, org)
    assert results["VULN-SCAN-COVERAGE"].status == "not_assessed"  # no assets yet
    assert results["SCHEDULED-SCANNING"].status == "fail"

    def asset(i: int, **kw: Any) -> Asset:
        values: dict[str, Any] = dict(id=new_id("ast"), org_id=org.id, livemode=False, target=f"198.51.100.{i}",
                                      kind="ip", criticality="high", owner="platform-team",
                                      last_scanned_at=_days(2))
        values.update(kw)
        return Asset(**values)

    await _add(db, *[asset(i) for i in range(1, 10)])
    [stale] = await _add(db, asset(10, last_scanned_at=_days(45), owner=None))
    results = await _results(db, org)
    assert results["VULN-SCAN-COVERAGE"].status == "partial" and _ids(results["VULN-SCAN-COVERAGE"]) == {stale}
    assert results["ASSET-INVENTORY-OWNERSHIP"].status == "partial"
    assert _ids(results["ASSET-INVENTORY-OWNERSHIP"]) == {stale}
    await _add(db, *[asset(i, last_scanned_at=None) for i in range(11, 15)])
    assert (await _results(db, org))["VULN-SCAN-COVERAGE"].status == "fail"  # 5 of 14 stale
    [sched] = await _add(db, ScanSchedule(id=new_id("ssch"), org_id=org.id, livemode=False, target="198.51.100.0/24",
                                          interval_minutes=1440, active=True, next_run_at=NOW))
    result = (await _results(db, org))["SCHEDULED-SCANNING"]
    assert result.status == "pass" and _ids(result) == {sched}


async def test_incident_sla_breach_notification_and_reviews(org: OrgKeys, db: Any) -> None:
    results = await _results(db, org)
    for cid in ("INCIDENT-RESPONSE-SLA", "BREACH-NOTIFICATION-72H", "POST-INCIDENT-REVIEW"):
        assert results[cid].status == "pass", cid
    on_time = _incident(org, acknowledged_at=_days(1) + dt.timedelta(minutes=10),
                        resolved_at=_days(1) + dt.timedelta(hours=5), status="resolved", priority="P3")
    await _add(db, on_time)
    assert (await _results(db, org))["INCIDENT-RESPONSE-SLA"].status == "pass"
    [overdue] = await _add(db, _incident(org, created_at=_days(5), acknowledge_by=_days(5), resolve_by=_days(3)))
    result = (await _results(db, org))["INCIDENT-RESPONSE-SLA"]
    assert result.status == "fail" and _ids(result) == {overdue}
    assert result.evidence[0].details["open_overdue"] == 1

    [unnotified] = await _add(db, _incident(org, personal_data_breach=True, created_at=_days(4),
                                            notify_authority_by=_days(1), acknowledged_at=_days(4)))
    result = (await _results(db, org))["BREACH-NOTIFICATION-72H"]
    assert result.status == "fail" and _ids(result) == {unnotified}
    async with db.session() as session:
        row = await session.get(Incident, unnotified)
        row.authority_notified_at = _days(0.5)  # notified, but after the 72 hours
        await session.commit()
    result = (await _results(db, org))["BREACH-NOTIFICATION-72H"]
    assert result.status == "partial" and "after 72 hours" in result.evidence[0].description

    [unreviewed] = await _add(db, _incident(org, priority="P1", status="resolved", created_at=_days(30),
                                            acknowledged_at=_days(30), resolved_at=_days(20)))
    await _add(db, _incident(org, priority="P1", status="resolved", created_at=_days(30),
                             resolved_at=_days(20), lessons_learned="Rotate creds faster"))
    await _add(db, _incident(org, priority="P2", status="resolved", created_at=_days(3), resolved_at=_days(2)))
    result = (await _results(db, org))["POST-INCIDENT-REVIEW"]
    assert result.status == "fail" and _ids(result) == {unreviewed}


async def test_key_rotation_alerting_and_audit_log(org: OrgKeys, db: Any) -> None:
    live = await _results(db, org, livemode=True)
    # The fixture's keys have no expiry date.
    assert live["KEY-ROTATION"].status == "fail" and live["KEY-ROTATION"].evidence[0].count == 1
    assert live["ALERTING-CONFIGURED"].status == "fail"
    assert live["AUDIT-LOGGING"].status == "not_assessed"

    # The endpoint only subscribes to an event this test never causes, and points at a socket the test
    # owns, so no delivery can reach anything else on the machine.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    request_close = listener.close
    [endpoint] = await _add(db, WebhookEndpoint(
        id=new_id("we"), org_id=org.id, livemode=True, url=f"http://127.0.0.1:{listener.getsockname()[1]}/hook",
        enabled_events=["scan.failed"], status="enabled", secret_encrypted="x"))
    result = (await _results(db, org, livemode=True))["ALERTING-CONFIGURED"]
    assert result.status == "partial" and endpoint in _ids(result)  # enabled, but nothing delivered yet
    await _add(db, Delivery(id=new_id("wd"), org_id=org.id, livemode=True, target_type="webhook_endpoint",
                            target_id=endpoint, event_id=new_id("evt"), event_type="webhook.test",
                            status="succeeded", last_attempt_at=NOW))
    assert (await _results(db, org, livemode=True))["ALERTING-CONFIGURED"].status == "pass"

    r = await org.live.post("/v1/compliance/attestations", json={
        "control": "TRAINING", "status": "pass", "attested_by": "hr@example.com"})
    assert r.status_code == 201

    async def audited() -> ControlResult | None:
        result = (await _results(db, org, livemode=True))["AUDIT-LOGGING"]
        return result if result.status == "pass" else None

    result = await poll_until(audited, message="audit log entry")
    assert result.evidence[0].count >= 1
    # The test-mode partition keeps its own keys and audit trail.
    assert (await _results(db, org))["AUDIT-LOGGING"].status == "not_assessed"
    request_close()


async def test_a_broken_evaluator_does_not_take_down_the_others(org: OrgKeys, db: Any, monkeypatch: Any) -> None:
    from sqlalchemy import text

    from cybervault.compliance.evaluators import EVALUATORS

    async def broken(ctx: Any) -> Any:
        await ctx.session.execute(text("SELECT no_such_column FROM no_such_table"))

    monkeypatch.setitem(EVALUATORS, "key_rotation", broken)
    results = await _results(db, org, livemode=True)
    assert results["KEY-ROTATION"].status == "not_assessed"
    assert "could not run" in results["KEY-ROTATION"].summary
    # Evaluators after it still ran against the database.
    assert results["ALERTING-CONFIGURED"].status == "fail"
    assert results["ASSET-INVENTORY-OWNERSHIP"].summary.startswith("No assets")
