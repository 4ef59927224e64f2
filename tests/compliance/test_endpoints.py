"""The compliance API: posture, catalog, attestations, history, exports, isolation."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import update

from cybervault.compliance.models import Attestation
from tests.helpers import OrgKeys


def _requirement(posture: dict[str, Any], framework: str, requirement: str) -> dict[str, Any]:
    fw = next(f for f in posture["frameworks"] if f["id"] == framework)
    return next(r for r in fw["requirements"] if r["id"] == requirement)


async def test_posture_covers_all_four_frameworks(org: OrgKeys) -> None:
    r = await org.live.get("/v1/compliance/posture")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "compliance_posture" and body["livemode"] is True
    assert [f["id"] for f in body["frameworks"]] == ["soc2", "iso27001", "hipaa", "gdpr"]
    soc2 = body["frameworks"][0]
    assert soc2["counts"]["total"] == 61 and len(soc2["requirements"]) == 61
    assert sum(soc2["counts"][s] for s in ("pass", "partial", "fail", "not_assessed", "not_applicable")) == 61
    assert 0.0 <= soc2["score"] <= 100.0
    # Mapping: each requirement names its controls with relationship, status and evidence.
    cc66 = _requirement(body, "soc2", "CC6.6")
    assert {"EXPOSED-SERVICES", "UNAUTHENTICATED-SERVICES"} <= {c["id"] for c in cc66["controls"]}
    assert all({"relationship", "status", "summary", "evidence"} <= set(c) for c in cc66["controls"])
    # HIPAA requirements carry required/addressable; inapplicable GDPR paragraphs say so.
    assert _requirement(body, "hipaa", "164.312(a)(2)(iv)")["implementation"] == "addressable"
    assert _requirement(body, "gdpr", "28(7)")["status"] == "not_applicable"
    # Nothing is attested in a new org, so attestation controls are gaps with remediation guidance.
    gaps = body["gaps"]
    assert gaps and gaps[0]["rank"] == 1
    assert all(g["remediation"] for g in gaps)
    closed = [g["requirements_closed"] for g in gaps]
    assert closed == sorted(closed, reverse=True)


async def test_posture_filters_frameworks_and_rejects_unknown(org: OrgKeys) -> None:
    r = await org.live.get("/v1/compliance/posture", params={"frameworks": "gdpr,soc2"})
    assert r.status_code == 200
    assert [f["id"] for f in r.json()["frameworks"]] == ["soc2", "gdpr"]
    # Gaps only count requirements of the selected frameworks.
    for gap in r.json()["gaps"]:
        assert set(gap["closes"]) <= {"soc2", "gdpr"}
    r = await org.live.get("/v1/compliance/posture", params={"frameworks": "soc2,pci"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_request" and error["param"] == "frameworks"
    assert "soc2, iso27001, hipaa, gdpr" in error["message"] and "'pci'" in error["message"]
    assert error["allowed_values"] == ["soc2", "iso27001", "hipaa", "gdpr"]


async def test_frameworks_and_controls_catalog(org: OrgKeys) -> None:
    r = await org.live.get("/v1/compliance/frameworks")
    assert r.status_code == 200
    frameworks = {f["id"]: f for f in r.json()["data"]}
    assert frameworks["iso27001"]["requirement_count"] == 93
    assert frameworks["soc2"]["requirement_count"] == 61
    r = await org.live.get("/v1/compliance/controls")
    controls = {c["id"]: c for c in r.json()["data"]}
    assert len(controls) >= 40
    assert controls["KEV-REMEDIATION"]["method"] == "automated"
    assert controls["DPIA"]["method"] == "attestation"
    assert {"framework": "gdpr", "requirement": "33(1)", "relationship": "equal"} in \
        controls["BREACH-NOTIFICATION-72H"]["mappings"]
    one = (await org.live.get("/v1/compliance/controls/DPIA")).json()
    assert one["id"] == "DPIA" and one["object"] == "compliance_control"
    assert (await org.live.get("/v1/compliance/frameworks/gdpr")).json()["requirement_count"] == 52
    for missing in ("/v1/compliance/controls/NOPE", "/v1/compliance/frameworks/pci"):
        r = await org.live.get(missing)
        assert r.status_code == 404 and r.json()["error"]["code"] == "resource_not_found"
    r = await org.live.get("/v1/compliance/controls", params={"framework": "hipaa"})
    assert all(any(m["framework"] == "hipaa" for m in c["mappings"]) for c in r.json()["data"])
    assert "DPIA" not in {c["id"] for c in r.json()["data"]}


async def test_attestation_lifecycle_and_expiry(org: OrgKeys, db: Any) -> None:
    body = {"control": "BACKUP", "status": "pass", "attested_by": "ciso@example.com",
            "evidence_url": "https://wiki.example.com/restore-test-2026", "notes": "Quarterly restore test"}
    r = await org.live.post("/v1/compliance/attestations", json=body)
    assert r.status_code == 201, r.text
    att = r.json()
    assert att["id"].startswith("att_") and att["object"] == "compliance_attestation"
    assert att["expired"] is False and att["control"] == "BACKUP"

    posture = (await org.live.get("/v1/compliance/posture")).json()
    # BACKUP fully covers ISO 27001 8.13 (equal), so the attestation passes it with its evidence.
    req = _requirement(posture, "iso27001", "8.13")
    assert req["status"] == "pass"
    backup = next(c for c in req["controls"] if c["id"] == "BACKUP")
    assert backup["evidence"][0]["object_ids"] == [att["id"]]
    assert backup["evidence"][0]["details"]["evidence_url"] == body["evidence_url"]
    assert "BACKUP" not in {g["control"] for g in posture["gaps"]}

    assert (await org.live.get(f"/v1/compliance/attestations/{att['id']}")).json()["id"] == att["id"]
    listed = (await org.live.get("/v1/compliance/attestations", params={"control": "BACKUP"})).json()
    assert [a["id"] for a in listed["data"]] == [att["id"]]

    # Time passes: the attestation expires and the control is no longer assessed.
    async with db.session() as session:
        await session.execute(update(Attestation).where(Attestation.id == att["id"])
                              .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        await session.commit()
    assert (await org.live.get(f"/v1/compliance/attestations/{att['id']}")).json()["expired"] is True
    posture = (await org.live.get("/v1/compliance/posture")).json()
    req = _requirement(posture, "iso27001", "8.13")
    assert req["status"] == "not_assessed"
    assert "expired" in next(c for c in req["controls"] if c["id"] == "BACKUP")["summary"]

    r = await org.live.delete(f"/v1/compliance/attestations/{att['id']}")
    assert r.status_code == 200 and r.json() == {"id": att["id"], "object": "compliance_attestation",
                                                 "deleted": True}
    assert (await org.live.get(f"/v1/compliance/attestations/{att['id']}")).status_code == 404


async def test_attestation_validation(org: OrgKeys) -> None:
    base = {"control": "TRAINING", "status": "pass", "attested_by": "hr@example.com"}
    cases = [
        ({**base, "control": "NOPE"}, "control"),
        ({**base, "status": "great"}, "status"),
        ({**base, "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({**base, "evidence_url": "javascript:alert(1)"}, "evidence_url"),
        ({**base, "owner": "x"}, "owner"),
        ({k: v for k, v in base.items() if k != "attested_by"}, "attested_by"),
        # Automated controls follow the data; they may only be declared not applicable.
        ({**base, "control": "KEV-REMEDIATION"}, "status"),
    ]
    for payload, param in cases:
        r = await org.live.post("/v1/compliance/attestations", json=payload)
        assert r.status_code == 400, (payload, r.text)
        assert r.json()["error"]["param"] == param, (payload, r.json())


async def test_automated_control_can_be_declared_not_applicable(org: OrgKeys) -> None:
    r = await org.live.post("/v1/compliance/attestations", json={
        "control": "BREACH-NOTIFICATION-72H", "status": "not_applicable", "attested_by": "dpo@example.com",
        "notes": "No personal data is processed"})
    assert r.status_code == 201
    posture = (await org.live.get("/v1/compliance/posture", params={"frameworks": "gdpr"})).json()
    control = next(c for c in posture["controls"] if c["control"] == "BREACH-NOTIFICATION-72H")
    assert control["status"] == "not_applicable" and control["method"] == "attestation"


async def test_isolation_across_orgs_and_modes(org: OrgKeys, other_org: OrgKeys) -> None:
    r = await org.live.post("/v1/compliance/attestations", json={
        "control": "SECURITY-POLICY", "status": "pass", "attested_by": "ciso@example.com"})
    att_id = r.json()["id"]
    for client in (org.test, other_org.live):
        assert (await client.get(f"/v1/compliance/attestations/{att_id}")).status_code == 404
        assert (await client.delete(f"/v1/compliance/attestations/{att_id}")).status_code == 404
        assert (await client.get("/v1/compliance/attestations")).json()["data"] == []
        posture = (await client.get("/v1/compliance/posture", params={"frameworks": "iso27001"})).json()
        assert _requirement(posture, "iso27001", "5.1")["status"] == "not_assessed"
    posture = (await org.live.get("/v1/compliance/posture", params={"frameworks": "iso27001"})).json()
    assert _requirement(posture, "iso27001", "5.1")["status"] == "pass"


async def test_restricted_keys_need_compliance_scopes(org: OrgKeys) -> None:
    reader = org.client_for(await org.make_key(kind="rk", scopes=["compliance:read"]))
    other = org.client_for(await org.make_key(kind="rk", scopes=["incidents:read"]))
    try:
        assert (await reader.get("/v1/compliance/posture")).status_code == 200
        r = await reader.post("/v1/compliance/attestations", json={
            "control": "TRAINING", "status": "pass", "attested_by": "x"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_permissions"
        assert (await other.get("/v1/compliance/posture")).status_code == 403
    finally:
        await reader.aclose()
        await other.aclose()


async def test_csv_export_has_one_row_per_requirement(org: OrgKeys) -> None:
    r = await org.live.get("/v1/compliance/export", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 61 + 93 + 65 + 52
    hipaa = next(row for row in rows if row["requirement_id"] == "164.308(a)(1)(ii)(A)")
    assert hipaa["framework"] == "hipaa" and hipaa["implementation"] == "required"
    assert "RISK-ASSESSMENT" in hipaa["controls"] and hipaa["remediation"]
    r = await org.live.get("/v1/compliance/export", params={"format": "xlsx"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "format"
