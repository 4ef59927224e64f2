"""Pure posture computation: control results in, requirement statuses, scores and gaps out.

No database or HTTP here, so the rules can be unit-tested exhaustively. The rules follow common
cross-framework mapping practice: a control that fully covers a requirement (equal, superset) passes
its result through; one that covers it only partly (subset, intersect) can at best make it partial,
unless two or more controls map to the requirement and all of them pass (together they meet it).
Any failing mapped control fails the requirement, because a known broken part means it is not met.
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cybervault.compliance.catalog import Catalog, Control, Relationship, Requirement


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    PARTIAL = "partial"
    FAIL = "fail"
    NOT_ASSESSED = "not_assessed"
    NOT_APPLICABLE = "not_applicable"


CONTROL_STATUSES = (Status.PASS, Status.PARTIAL, Status.FAIL, Status.NOT_ASSESSED, Status.NOT_APPLICABLE)
# Order used to decide whether a change is an improvement (higher is better).
_RANK = {Status.FAIL: 0, Status.NOT_ASSESSED: 1, Status.PARTIAL: 2, Status.PASS: 3, Status.NOT_APPLICABLE: 3}
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Evidence:
    """One observation behind a control result, pointing at the objects it was computed from."""

    description: str
    source: str  # e.g. "findings", "assets", "attestation"
    count: int | None = None
    object_ids: tuple[str, ...] = ()
    observed_at: dt.datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "source": self.source,
            "count": self.count,
            "object_ids": list(self.object_ids),
            "observed_at": _iso(self.observed_at),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class ControlResult:
    control_id: str
    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()
    method: str = "automated"  # automated | attestation | none
    evaluated_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "control": self.control_id,
            "status": self.status.value,
            "summary": self.summary,
            "method": self.method,
            "evaluated_at": _iso(self.evaluated_at),
            "evidence": [e.as_dict() for e in self.evidence],
        }


def not_assessed(control_id: str, reason: str, *, method: str = "none") -> ControlResult:
    return ControlResult(control_id, Status.NOT_ASSESSED, reason, method=method)


@dataclass(frozen=True)
class MappedControl:
    control_id: str
    relationship: Relationship
    control_status: Status
    contributes: Status  # what this mapping alone would make of the requirement


@dataclass(frozen=True)
class RequirementResult:
    framework: str
    requirement: Requirement
    status: Status
    controls: tuple[MappedControl, ...]


@dataclass(frozen=True)
class FrameworkPosture:
    framework_id: str
    name: str
    version: str
    score: float | None
    counts: dict[str, int]
    requirements: tuple[RequirementResult, ...]


@dataclass(frozen=True)
class Gap:
    control: Control
    status: Status
    requirements_closed: int  # requirements that would become pass if this control passed
    requirements_improved: int  # requirements whose status would improve at all
    closes: dict[str, tuple[str, ...]]  # framework -> requirement ids it would close
    result: ControlResult


@dataclass(frozen=True)
class Posture:
    frameworks: tuple[FrameworkPosture, ...]
    gaps: tuple[Gap, ...]
    controls: dict[str, ControlResult]

    def statuses(self) -> dict[tuple[str, str], Status]:
        return {
            (fw.framework_id, r.requirement.id): r.status for fw in self.frameworks for r in fw.requirements
        }


def contribution(relationship: Relationship, control_status: Status) -> Status:
    """What one mapped control says about a requirement on its own."""
    if control_status is Status.PASS and not relationship.full_coverage:
        return Status.PARTIAL
    return control_status


def combine(requirement: Requirement, mapped: Sequence[MappedControl]) -> Status:
    """A requirement's status from all controls mapped to it."""
    return combine_pairs(requirement, [(m.relationship, m.control_status) for m in mapped])


def combine_pairs(requirement: Requirement, mapped: Sequence[tuple[Relationship, Status]]) -> Status:
    """`combine` over (relationship, control status) pairs: the rules in one place."""
    if not requirement.applicable:
        return Status.NOT_APPLICABLE
    relevant = [(rel, st) for rel, st in mapped if st is not Status.NOT_APPLICABLE]
    if mapped and not relevant:
        return Status.NOT_APPLICABLE  # every control serving it was attested not applicable
    if not relevant:
        return Status.NOT_ASSESSED  # manual-only requirement: judged outside CyberVault
    statuses = {st for _, st in relevant}
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.PARTIAL in statuses:
        return Status.PARTIAL
    if any(st is Status.PASS and rel.full_coverage for rel, st in relevant):
        return Status.PASS
    if statuses == {Status.PASS} and len(relevant) > 1:
        # Where the catalog maps several controls that each cover part of a requirement, all of them
        # passing meets it together. A lone partial control leaves the rest unaddressed.
        return Status.PASS
    if Status.PASS in statuses:
        return Status.PARTIAL
    return Status.NOT_ASSESSED


def score(counts: Mapping[str, int]) -> float | None:
    """Percentage of applicable requirements met, counting a partial as half. Unassessed counts as unmet."""
    applicable = sum(counts.get(s.value, 0) for s in CONTROL_STATUSES if s is not Status.NOT_APPLICABLE)
    if applicable == 0:
        return None
    met = counts.get(Status.PASS.value, 0) + 0.5 * counts.get(Status.PARTIAL.value, 0)
    return round(100.0 * met / applicable, 1)


def _requirement_results(
    catalog: Catalog, framework_id: str, statuses: Mapping[str, Status]
) -> list[RequirementResult]:
    results = []
    for req in catalog.frameworks[framework_id].requirements:
        mapped = []
        for control, mapping in catalog.mappings_for(framework_id, req.id):
            control_status = statuses.get(control.id, Status.NOT_ASSESSED)
            mapped.append(MappedControl(control.id, mapping.relationship, control_status,
                                        contribution(mapping.relationship, control_status)))
        results.append(RequirementResult(framework_id, req, combine(req, mapped), tuple(mapped)))
    return results


def _framework_posture(
    catalog: Catalog, framework_id: str, statuses: Mapping[str, Status]
) -> FrameworkPosture:
    fw = catalog.frameworks[framework_id]
    requirements = _requirement_results(catalog, framework_id, statuses)
    counts = {s.value: 0 for s in CONTROL_STATUSES}
    for r in requirements:
        counts[r.status.value] += 1
    counts["total"] = len(requirements)
    return FrameworkPosture(fw.id, fw.name, fw.version, score(counts), counts, tuple(requirements))


def _status_after(catalog: Catalog, framework_id: str, requirement: Requirement,
                  statuses: Mapping[str, Status]) -> Status:
    pairs = [(m.relationship, statuses.get(c.id, Status.NOT_ASSESSED))
             for c, m in catalog.mappings_for(framework_id, requirement.id)]
    return combine_pairs(requirement, pairs)


def _gaps(
    catalog: Catalog, frameworks: Sequence[str], results: Mapping[str, ControlResult],
    statuses: Mapping[str, Status], current: Mapping[tuple[str, str], Status],
) -> list[Gap]:
    selected = set(frameworks)
    gaps = []
    for control in catalog.controls.values():
        status = statuses.get(control.id, Status.NOT_ASSESSED)
        if status in (Status.PASS, Status.NOT_APPLICABLE):
            continue
        mappings = [m for m in control.mappings if m.framework in selected]
        if not mappings:
            continue
        # Only the requirements this control maps to can change when it alone is fixed.
        fixed = ChainMap({control.id: Status.PASS}, statuses)
        closes: dict[str, list[str]] = {}
        improved = 0
        for mapping in mappings:
            requirement = catalog.requirement(mapping.framework, mapping.requirement)
            if requirement is None:
                continue
            before_s = current[(mapping.framework, mapping.requirement)]
            after_s = _status_after(catalog, mapping.framework, requirement, fixed)
            if _RANK[after_s] > _RANK[before_s]:
                improved += 1
            if after_s is Status.PASS and before_s is not Status.PASS:
                closes.setdefault(mapping.framework, []).append(mapping.requirement)
        gaps.append(Gap(
            control=control,
            status=status,
            requirements_closed=sum(len(v) for v in closes.values()),
            requirements_improved=improved,
            closes={k: tuple(v) for k, v in closes.items()},
            result=results.get(control.id) or not_assessed(control.id, "No result recorded."),
        ))
    status_rank = {Status.FAIL: 0, Status.PARTIAL: 1, Status.NOT_ASSESSED: 2}
    gaps.sort(key=lambda g: (-g.requirements_closed, -g.requirements_improved, status_rank[g.status],
                             _SEVERITY_RANK[g.control.severity], g.control.id))
    return gaps


def evaluate_posture(
    catalog: Catalog, results: Mapping[str, ControlResult], frameworks: Sequence[str] | None = None
) -> Posture:
    """Posture for the selected frameworks (catalog order) from per-control results.

    Controls without a result count as not assessed. Gaps are ranked by how many requirements across
    the selected frameworks passing that one control would close, then by how many it would improve.
    """
    selected = [f for f in catalog.frameworks if frameworks is None or f in frameworks]
    statuses = {cid: results[cid].status if cid in results else Status.NOT_ASSESSED
                for cid in catalog.controls}
    postures = tuple(_framework_posture(catalog, f, statuses) for f in selected)
    current = {(fw.framework_id, r.requirement.id): r.status for fw in postures for r in fw.requirements}
    full_results = {cid: results.get(cid) or not_assessed(cid, "No result recorded.")
                    for cid in catalog.controls}
    gaps = tuple(_gaps(catalog, selected, full_results, statuses, current))
    return Posture(postures, gaps, full_results)


def status_changes(
    before: Mapping[str, str], after: Mapping[str, str]
) -> list[tuple[str, str | None, str]]:
    """(requirement key, old status, new status) for every key whose status flipped."""
    return [(key, before.get(key), new) for key, new in sorted(after.items()) if before.get(key) != new]


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
