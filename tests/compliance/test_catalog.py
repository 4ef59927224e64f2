"""The packaged catalog is complete and internally consistent."""

from __future__ import annotations

import re

from cybervault.compliance.catalog import ATTESTATION, catalog_problems, get_catalog, load_catalog


def test_catalog_has_no_problems() -> None:
    assert catalog_problems(load_catalog()) == []


def test_soc2_has_all_61_criteria() -> None:
    ids = [r.id for r in get_catalog().frameworks["soc2"].requirements]
    common = [i for i in ids if i.startswith("CC")]
    assert len(common) == 33
    assert common[0] == "CC1.1" and common[-1] == "CC9.2"
    assert [i for i in ids if i.startswith("A1")] == ["A1.1", "A1.2", "A1.3"]
    assert [i for i in ids if i.startswith("C1")] == ["C1.1", "C1.2"]
    assert [i for i in ids if i.startswith("PI1")] == [f"PI1.{n}" for n in range(1, 6)]
    privacy = [i for i in ids if re.fullmatch(r"P\d\.\d", i)]
    assert len(privacy) == 18 and privacy[0] == "P1.1" and privacy[-1] == "P8.1"
    assert len(ids) == 61


def test_iso27001_has_all_93_annex_a_controls() -> None:
    ids = [r.id for r in get_catalog().frameworks["iso27001"].requirements]
    expected = ([f"5.{n}" for n in range(1, 38)] + [f"6.{n}" for n in range(1, 9)]
                + [f"7.{n}" for n in range(1, 15)] + [f"8.{n}" for n in range(1, 35)])
    assert ids == expected


def test_hipaa_specs_are_marked_required_or_addressable() -> None:
    reqs = get_catalog().frameworks["hipaa"].requirements
    assert all(r.implementation in ("required", "addressable") for r in reqs)
    by_id = {r.id: r for r in reqs}
    assert by_id["164.308(a)(1)(ii)(A)"].implementation == "required"  # risk analysis
    assert by_id["164.312(a)(2)(iv)"].implementation == "addressable"  # encryption at rest
    assert by_id["164.312(e)(2)(ii)"].implementation == "addressable"  # encryption in transit
    assert by_id["164.308(a)(7)(ii)(D)"].implementation == "addressable"  # contingency testing
    sections = {r.id.split("(")[0] for r in reqs}
    assert sections == {"164.308", "164.310", "164.312", "164.314", "164.316"}
    # Every implementation specification hangs under an existing standard.
    for r in reqs:
        if r.kind == "implementation_specification":
            assert r.parent and by_id[r.parent].kind == "standard"


def test_gdpr_covers_the_security_articles_by_paragraph() -> None:
    ids = {r.id for r in get_catalog().frameworks["gdpr"].requirements}
    for must in ("5(1)(f)", "5(2)", "24(1)", "25(1)", "28(3)", "30(1)(g)", "32(1)(a)", "32(1)(d)",
                 "33(1)", "33(5)", "34(1)", "35(7)"):
        assert must in ids
    articles = {i.split("(")[0] for i in ids}
    assert articles == {"5", "24", "25", "28", "30", "32", "33", "34", "35"}


def test_controls_are_mapped_and_described() -> None:
    catalog = get_catalog()
    assert len(catalog.controls) >= 40
    for control in catalog.controls.values():
        assert control.mappings, control.id
        assert control.remediation.strip(), control.id
    automated = {c.id for c in catalog.controls.values() if c.evaluator != ATTESTATION}
    for needed in ("VULN-SCAN-COVERAGE", "VULN-REMEDIATION-SLA", "KEV-REMEDIATION", "EXPOSED-SERVICES",
                   "TLS-HYGIENE", "INCIDENT-RESPONSE-SLA", "BREACH-NOTIFICATION-72H", "POST-INCIDENT-REVIEW",
                   "KEY-ROTATION", "ALERTING-CONFIGURED", "AUDIT-LOGGING", "ASSET-INVENTORY-OWNERSHIP"):
        assert needed in automated
    for manual in ("SECURITY-POLICY", "TRAINING", "BACKUP", "PHYSICAL-ACCESS", "VENDOR-MANAGEMENT", "DPIA",
                   "RECORDS-OF-PROCESSING"):
        assert catalog.controls[manual].evaluator == ATTESTATION


def test_exposed_services_reaches_every_framework() -> None:
    frameworks = {m.framework for m in get_catalog().controls["EXPOSED-SERVICES"].mappings}
    assert frameworks == {"soc2", "iso27001", "hipaa", "gdpr"}


def test_validation_reports_a_broken_catalog(tmp_path) -> None:
    import shutil

    from cybervault.compliance.catalog import CATALOG_DIR

    shutil.copytree(CATALOG_DIR, tmp_path / "cat", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    controls = tmp_path / "cat" / "controls.yaml"
    text = controls.read_text().replace('{"8.8": subset, "8.29"', '{"8.99": subset, "8.29"')
    text = text.replace("gdpr: {\"35(1)\": equal,", "gdpr: {")
    controls.write_text(text)
    problems = catalog_problems(load_catalog(tmp_path / "cat"))
    assert "VULN-SCAN-COVERAGE: iso27001 has no requirement 8.99" in problems
    assert "gdpr 35(1): no control maps to it and it is not marked manual_only" in problems
