"""The compliance catalog: framework requirements and the unified controls mapped onto them.

The data lives in YAML beside this module (frameworks/*.yaml and controls.yaml) so a
reviewer can audit a mapping without reading code. Loading validates the shape with pydantic;
`catalog_problems()` checks the cross references (ids exist, coverage is complete).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CATALOG_DIR = Path(__file__).parent
FRAMEWORK_ORDER = ("soc2", "iso27001", "hipaa", "gdpr")
ATTESTATION = "attestation"


class Relationship(StrEnum):
    """How a control relates to a requirement: the control *is <relationship> of* the requirement."""

    EQUAL = "equal"
    SUPERSET = "superset"
    SUBSET = "subset"
    INTERSECT = "intersect"

    @property
    def full_coverage(self) -> bool:
        # A control equal to, or wider than, the requirement answers it completely.
        return self in (Relationship.EQUAL, Relationship.SUPERSET)


RequirementKind = Literal["criterion", "control", "standard", "implementation_specification", "provision"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirement(_Strict):
    id: str
    title: str
    group: str
    framework: str = ""
    kind: RequirementKind | None = None
    implementation: Literal["required", "addressable"] | None = None
    parent: str | None = None
    applicability: Literal["applicable", "not_applicable"] = "applicable"
    manual_only: bool = False
    note: str | None = None

    @property
    def applicable(self) -> bool:
        return self.applicability == "applicable"


class Framework(_Strict):
    id: str
    name: str
    version: str
    publisher: str
    requirements: tuple[Requirement, ...]


class Mapping(_Strict):
    framework: str
    requirement: str
    relationship: Relationship


class Control(_Strict):
    id: str
    name: str
    category: str
    evaluator: str
    severity: Literal["low", "medium", "high", "critical"]
    description: str
    remediation: str
    mappings: tuple[Mapping, ...] = Field(min_length=1)

    @property
    def automated(self) -> bool:
        return self.evaluator != ATTESTATION


_DEFAULT_KIND = {"soc2": "criterion", "iso27001": "control", "gdpr": "provision"}


class Catalog:
    """Read-only view over the loaded catalog with the lookups evaluation needs."""

    def __init__(self, frameworks: dict[str, Framework], controls: dict[str, Control]) -> None:
        self.frameworks = frameworks
        self.controls = controls
        self._requirements = {
            (fw.id, req.id): req for fw in frameworks.values() for req in fw.requirements
        }
        # requirement key -> [(control, mapping)], in catalog order
        self._by_requirement: dict[tuple[str, str], list[tuple[Control, Mapping]]] = {}
        for control in controls.values():
            for mapping in control.mappings:
                key = (mapping.framework, mapping.requirement)
                self._by_requirement.setdefault(key, []).append((control, mapping))

    def requirement(self, framework: str, requirement_id: str) -> Requirement | None:
        return self._requirements.get((framework, requirement_id))

    def mappings_for(self, framework: str, requirement_id: str) -> list[tuple[Control, Mapping]]:
        return self._by_requirement.get((framework, requirement_id), [])

    @property
    def requirement_count(self) -> int:
        return len(self._requirements)


def _load_framework(path: Path) -> Framework:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    fw_id = raw["id"]
    requirements = []
    for item in raw["requirements"]:
        item = {"kind": _DEFAULT_KIND.get(fw_id), **item, "framework": fw_id}
        requirements.append(Requirement.model_validate(item))
    return Framework.model_validate({**raw, "requirements": requirements})


def _load_controls(path: Path) -> dict[str, Control]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    controls: dict[str, Control] = {}
    for item in raw["controls"]:
        mappings = [
            {"framework": fw, "requirement": str(req), "relationship": rel}
            for fw, reqs in (item.get("mappings") or {}).items()
            for req, rel in reqs.items()
        ]
        control = Control.model_validate({**item, "mappings": mappings})
        if control.id in controls:
            raise ValueError(f"duplicate control id {control.id}")
        controls[control.id] = control
    return controls


def load_catalog(directory: Path = CATALOG_DIR) -> Catalog:
    frameworks: dict[str, Framework] = {}
    for fw_id in FRAMEWORK_ORDER:
        framework = _load_framework(directory / "frameworks" / f"{fw_id}.yaml")
        if framework.id != fw_id:
            raise ValueError(f"{fw_id}.yaml declares id {framework.id!r}")
        frameworks[fw_id] = framework
    return Catalog(frameworks, _load_controls(directory / "controls.yaml"))


@cache
def get_catalog() -> Catalog:
    """The packaged catalog, loaded once per process."""
    return load_catalog()


def catalog_problems(catalog: Catalog) -> list[str]:
    """Every inconsistency in the catalog, as readable sentences (empty when the catalog is sound)."""
    problems: list[str] = []
    for fw in catalog.frameworks.values():
        seen: set[str] = set()
        for req in fw.requirements:
            if req.id in seen:
                problems.append(f"{fw.id}: duplicate requirement {req.id}")
            seen.add(req.id)
            if req.parent is not None and catalog.requirement(fw.id, req.parent) is None:
                problems.append(f"{fw.id} {req.id}: parent {req.parent} does not exist")
            mapped = bool(catalog.mappings_for(fw.id, req.id))
            if req.applicable and not mapped and not req.manual_only:
                problems.append(f"{fw.id} {req.id}: no control maps to it and it is not marked manual_only")
            if req.manual_only and mapped:
                problems.append(f"{fw.id} {req.id}: marked manual_only but controls map to it")
            if not req.applicable and mapped:
                problems.append(f"{fw.id} {req.id}: not applicable but controls map to it")
    for control in catalog.controls.values():
        targets = set()
        for mapping in control.mappings:
            if mapping.framework not in catalog.frameworks:
                problems.append(f"{control.id}: unknown framework {mapping.framework}")
            elif catalog.requirement(mapping.framework, mapping.requirement) is None:
                problems.append(f"{control.id}: {mapping.framework} has no requirement {mapping.requirement}")
            targets.add((mapping.framework, mapping.requirement))
        if not targets:
            problems.append(f"{control.id}: maps to no requirement")
    return problems
