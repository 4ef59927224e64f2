"""The OSCAL export validates against compliance-trestle's models of the official OSCAL schema."""

from __future__ import annotations

import pytest

from tests.helpers import OrgKeys

ar = pytest.importorskip("trestle.oscal.assessment_results")


async def test_oscal_export_validates_and_reflects_posture(org: OrgKeys) -> None:
    await org.live.post("/v1/compliance/attestations", json={
        "control": "SECURITY-POLICY", "status": "pass", "attested_by": "ciso@example.com",
        "evidence_url": "https://policies.example.com/isp-v4"})
    r = await org.live.get("/v1/compliance/export", params={"format": "oscal"})
    assert r.status_code == 200, r.text
    assert "assessment-results" in r.headers["content-disposition"]
    document = r.json()
    model = ar.Model.model_validate(document)  # raises on any schema violation
    result = model.assessment_results.results[0]
    findings = {f.target.target_id: f for f in result.findings}
    assert len(findings) == 61 + 93 + 65 + 52
    # Requirement ids become OSCAL tokens; the original id is kept in a property.
    iso51 = findings["iso27001_5.1"]
    assert iso51.target.status.state.value == "satisfied"
    assert {p.value for p in iso51.target.props} >= {"iso27001", "5.1"}
    hipaa = findings["hipaa_164.308_a_1_ii_a"]
    assert hipaa.target.status.state.value == "not-satisfied"
    # Findings point at the observations of their controls, and attested evidence keeps its link.
    observations = {o.uuid: o for o in result.observations}
    linked = [observations[ro.observation_uuid] for ro in iso51.related_observations]
    policy = next(o for o in linked if o.title.startswith("SECURITY-POLICY"))
    assert policy.methods == ["EXAMINE"]
    assert str(policy.relevant_evidence[0].href) == "https://policies.example.com/isp-v4"
    na = findings["gdpr_28_7"]
    assert na.target.status is None and na.target.implementation_status.state == "not-applicable"


async def test_oscal_export_of_one_framework(org: OrgKeys) -> None:
    r = await org.live.get("/v1/compliance/export", params={"format": "oscal", "frameworks": "gdpr"})
    model = ar.Model.model_validate(r.json())
    targets = {f.target.target_id for f in model.assessment_results.results[0].findings}
    assert targets and all(t.startswith("gdpr_") for t in targets)
