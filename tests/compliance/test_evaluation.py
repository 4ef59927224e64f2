"""The pure posture rules: coverage relationships, combination, scores and gap ranking."""

from __future__ import annotations

import datetime as dt

import pytest

from cybervault.compliance.catalog import (
    Catalog,
    Control,
    Framework,
    Mapping,
    Relationship,
    Requirement,
    get_catalog,
)
from cybervault.compliance.evaluation import (
    ControlResult,
    Evidence,
    MappedControl,
    Status,
    combine,
    contribution,
    evaluate_posture,
    score,
    status_changes,
)

R = Relationship
S = Status


def _req(rid: str = "X", **kw) -> Requirement:
    return Requirement(id=rid, title="t", group="g", framework="fw", **kw)


def _m(rel: Relationship, status: Status, cid: str = "C") -> MappedControl:
    return MappedControl(cid, rel, status, contribution(rel, status))


@pytest.mark.parametrize(("rel", "status", "expected"), [
    (R.EQUAL, S.PASS, S.PASS),
    (R.SUPERSET, S.PASS, S.PASS),
    (R.SUBSET, S.PASS, S.PARTIAL),
    (R.INTERSECT, S.PASS, S.PARTIAL),
    (R.INTERSECT, S.FAIL, S.FAIL),
    (R.EQUAL, S.PARTIAL, S.PARTIAL),
    (R.SUBSET, S.NOT_ASSESSED, S.NOT_ASSESSED),
])
def test_single_mapping_follows_coverage(rel, status, expected) -> None:
    assert combine(_req(), [_m(rel, status)]) is expected


def test_failure_anywhere_fails_the_requirement() -> None:
    assert combine(_req(), [_m(R.EQUAL, S.PASS), _m(R.INTERSECT, S.FAIL)]) is S.FAIL


def test_full_coverage_pass_wins_over_partial_coverage_pass() -> None:
    assert combine(_req(), [_m(R.INTERSECT, S.PASS), _m(R.EQUAL, S.PASS)]) is S.PASS
    assert combine(_req(), [_m(R.INTERSECT, S.PASS), _m(R.SUBSET, S.NOT_ASSESSED)]) is S.PARTIAL


def test_all_partial_controls_passing_meet_the_requirement_together() -> None:
    assert combine(_req(), [_m(R.INTERSECT, S.PASS), _m(R.SUBSET, S.PASS)]) is S.PASS


def test_unassessed_controls_do_not_hide_an_assessed_result() -> None:
    assert combine(_req(), [_m(R.EQUAL, S.NOT_ASSESSED), _m(R.INTERSECT, S.PASS)]) is S.PARTIAL
    assert combine(_req(), [_m(R.EQUAL, S.NOT_ASSESSED), _m(R.SUBSET, S.NOT_ASSESSED)]) is S.NOT_ASSESSED


def test_applicability() -> None:
    assert combine(_req(applicability="not_applicable"), []) is S.NOT_APPLICABLE
    assert combine(_req(), [_m(R.EQUAL, S.NOT_APPLICABLE)]) is S.NOT_APPLICABLE
    assert combine(_req(manual_only=True), []) is S.NOT_ASSESSED


def test_score_counts_partial_as_half_and_skips_not_applicable() -> None:
    assert score({"pass": 2, "partial": 2, "fail": 0, "not_assessed": 0, "not_applicable": 5}) == 75.0
    assert score({"pass": 1, "not_assessed": 3}) == 25.0
    assert score({"not_applicable": 2}) is None


def _toy_catalog() -> Catalog:
    fw_a = Framework(id="a", name="A", version="1", publisher="p", requirements=(
        Requirement(id="a1", title="t", group="g", framework="a"),
        Requirement(id="a2", title="t", group="g", framework="a"),
        Requirement(id="a3", title="t", group="g", framework="a", applicability="not_applicable"),
    ))
    fw_b = Framework(id="b", name="B", version="1", publisher="p", requirements=(
        Requirement(id="b1", title="t", group="g", framework="b"),
    ))

    def control(cid: str, sev: str, *maps: tuple[str, str, Relationship]) -> Control:
        mappings = tuple(Mapping(framework=f, requirement=r, relationship=rel) for f, r, rel in maps)
        return Control(id=cid, name=cid, category="c", evaluator="x", severity=sev, description="d",
                       remediation=f"fix {cid}", mappings=mappings)

    controls = {
        # WIDE fixes one requirement in each framework on its own.
        "WIDE": control("WIDE", "medium", ("a", "a1", R.EQUAL), ("b", "b1", R.EQUAL)),
        # NARROW only ever makes a2 partial.
        "NARROW": control("NARROW", "critical", ("a", "a2", R.INTERSECT)),
        "FULL": control("FULL", "low", ("a", "a2", R.EQUAL)),
    }
    return Catalog({"a": fw_a, "b": fw_b}, controls)


def test_posture_scores_counts_and_evidence_flow() -> None:
    cat = _toy_catalog()
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ev = Evidence("2 findings open", "findings", count=2, object_ids=("fnd_1", "fnd_2"), observed_at=when)
    results = {
        "WIDE": ControlResult("WIDE", S.FAIL, "bad", (ev,)),
        "NARROW": ControlResult("NARROW", S.PASS, "ok"),
    }
    posture = evaluate_posture(cat, results)
    a, b = posture.frameworks
    assert a.counts == {"pass": 0, "partial": 1, "fail": 1, "not_assessed": 0, "not_applicable": 1,
                        "total": 3}
    assert a.score == 25.0
    assert b.counts["fail"] == 1 and b.score == 0.0
    assert posture.controls["WIDE"].evidence[0].as_dict()["object_ids"] == ["fnd_1", "fnd_2"]
    assert posture.controls["WIDE"].evidence[0].as_dict()["observed_at"] == "2026-01-01T00:00:00Z"
    assert posture.controls["FULL"].status is S.NOT_ASSESSED  # no result given


def test_gaps_rank_by_requirements_closed_across_frameworks() -> None:
    cat = _toy_catalog()
    posture = evaluate_posture(cat, {"WIDE": ControlResult("WIDE", S.FAIL, "bad"),
                                     "NARROW": ControlResult("NARROW", S.FAIL, "bad")})
    ranked = [(g.control.id, g.requirements_closed, g.requirements_improved) for g in posture.gaps]
    # WIDE closes a1 and b1. FULL would close a2 only if NARROW were not failing: it closes nothing alone.
    assert ranked[0] == ("WIDE", 2, 2)
    assert posture.gaps[0].closes == {"a": ("a1",), "b": ("b1",)}
    narrow = next(g for g in posture.gaps if g.control.id == "NARROW")
    assert narrow.requirements_closed == 0 and narrow.requirements_improved == 1  # fail -> partial


def test_gaps_only_count_selected_frameworks() -> None:
    cat = _toy_catalog()
    posture = evaluate_posture(cat, {"WIDE": ControlResult("WIDE", S.FAIL, "bad")}, frameworks=["b"])
    assert [fw.framework_id for fw in posture.frameworks] == ["b"]
    assert [(g.control.id, g.requirements_closed) for g in posture.gaps] == [("WIDE", 1)]


def test_real_catalog_all_pass_scores_100_and_has_no_gaps() -> None:
    cat = get_catalog()
    results = {cid: ControlResult(cid, S.PASS, "ok") for cid in cat.controls}
    posture = evaluate_posture(cat, results)
    for fw in posture.frameworks:
        assert fw.counts["fail"] == 0
        # manual-only requirements (if any) are the only ones that may stay unassessed
        manual = sum(1 for r in cat.frameworks[fw.framework_id].requirements if r.manual_only)
        assert fw.counts["not_assessed"] == manual
        assert fw.score == 100.0  # no requirement is left only partly addressed by the catalog
    assert posture.gaps == ()


def test_real_catalog_one_failure_reaches_all_four_frameworks() -> None:
    cat = get_catalog()
    results = {cid: ControlResult(cid, S.PASS, "ok") for cid in cat.controls}
    results["EXPOSED-SERVICES"] = ControlResult("EXPOSED-SERVICES", S.FAIL, "telnet open")
    posture = evaluate_posture(cat, results)
    failing = {k for k, v in posture.statuses().items() if v is S.FAIL}
    assert ("soc2", "CC6.6") in failing and ("iso27001", "8.20") in failing
    assert ("hipaa", "164.312(e)(1)") in failing and ("gdpr", "32(1)(b)") in failing
    assert posture.gaps[0].control.id == "EXPOSED-SERVICES"
    assert posture.gaps[0].requirements_closed == len(failing)


def test_status_changes_lists_only_flips() -> None:
    before = {"soc2:CC6.6": "pass", "gdpr:33(1)": "fail"}
    after = {"soc2:CC6.6": "fail", "gdpr:33(1)": "fail", "iso27001:8.8": "partial"}
    assert status_changes(before, after) == [
        ("iso27001:8.8", None, "partial"), ("soc2:CC6.6", "pass", "fail"),
    ]
