"""Request bodies and the JSON shapes of compliance objects."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, field_validator

from cybervault.compliance.catalog import Catalog, Control, Framework
from cybervault.compliance.evaluation import ControlResult, FrameworkPosture, Gap, Posture
from cybervault.compliance.models import Attestation, PostureSnapshot
from cybervault.kit.schemas import RequestModel
from cybervault.kit.time import iso


class AttestationCreate(RequestModel):
    control: str = Field(min_length=1, max_length=80, description="Unified control id, e.g. SECURITY-POLICY")
    status: Literal["pass", "partial", "fail", "not_applicable"]
    attested_by: str = Field(min_length=1, max_length=200, description="Who vouches for this (name or email)")
    evidence_url: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=10_000)
    expires_at: dt.datetime | None = Field(None, description="Default: one year after creation")

    @field_validator("evidence_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone, e.g. 2026-01-15T08:32:11Z")
        return value.astimezone(dt.UTC) if value is not None else None


def render_attestation(att: Attestation, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": att.id,
        "object": "compliance_attestation",
        "livemode": att.livemode,
        "control": att.control_id,
        "status": att.status,
        "attested_by": att.attested_by,
        "evidence_url": att.evidence_url,
        "notes": att.notes,
        "expires_at": iso(att.expires_at),
        "expired": att.expires_at <= now,
        "created": iso(att.created_at),
    }


def render_control_result(result: ControlResult) -> dict[str, Any]:
    return result.as_dict()


def _render_framework_posture(fw: FrameworkPosture, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    requirements = []
    for r in fw.requirements:
        req = r.requirement
        requirements.append({
            "id": req.id,
            "title": req.title,
            "group": req.group,
            "status": r.status.value,
            **({"implementation": req.implementation} if req.implementation else {}),
            **({"note": req.note} if req.note else {}),
            "controls": [
                {"id": m.control_id, "relationship": m.relationship.value, "status": m.control_status.value,
                 "summary": results[m.control_id]["summary"], "evidence": results[m.control_id]["evidence"]}
                for m in r.controls
            ],
        })
    return {
        "id": fw.framework_id,
        "object": "compliance_framework_posture",
        "name": fw.name,
        "version": fw.version,
        "score": fw.score,
        "counts": fw.counts,
        "requirements": requirements,
    }


def render_gap(rank: int, gap: Gap, result: dict[str, Any]) -> dict[str, Any]:
    failing = [e for e in result["evidence"] if (e.get("count") or 0) > 0 or e.get("object_ids")]
    return {
        "rank": rank,
        "control": gap.control.id,
        "name": gap.control.name,
        "status": gap.status.value,
        "severity": gap.control.severity,
        "method": "attestation" if not gap.control.automated else "automated",
        "requirements_closed": gap.requirements_closed,
        "requirements_improved": gap.requirements_improved,
        "closes": {fw: list(ids) for fw, ids in gap.closes.items()},
        "summary": result["summary"],
        "remediation": gap.control.remediation,
        "evidence": failing,
    }


def render_posture(posture: Posture, *, livemode: bool, evaluated_at: dt.datetime) -> dict[str, Any]:
    results = {cid: r.as_dict() for cid, r in posture.controls.items()}
    return {
        "object": "compliance_posture",
        "livemode": livemode,
        "evaluated_at": iso(evaluated_at),
        "frameworks": [_render_framework_posture(fw, results) for fw in posture.frameworks],
        "gaps": [render_gap(i, g, results[g.control.id]) for i, g in enumerate(posture.gaps, start=1)],
        "controls": [results[cid] for cid in results],
    }


def render_framework(fw: Framework, catalog: Catalog) -> dict[str, Any]:
    return {
        "id": fw.id,
        "object": "compliance_framework",
        "name": fw.name,
        "version": fw.version,
        "publisher": fw.publisher,
        "requirement_count": len(fw.requirements),
        "requirements": [
            {
                "id": r.id, "title": r.title, "group": r.group, "kind": r.kind,
                "implementation": r.implementation, "parent": r.parent, "applicability": r.applicability,
                "manual_only": r.manual_only, "note": r.note,
                "controls": [c.id for c, _ in catalog.mappings_for(fw.id, r.id)],
            }
            for r in fw.requirements
        ],
    }


def render_control(control: Control) -> dict[str, Any]:
    return {
        "id": control.id,
        "object": "compliance_control",
        "name": control.name,
        "category": control.category,
        "method": "automated" if control.automated else "attestation",
        "evaluator": control.evaluator if control.automated else None,
        "severity": control.severity,
        "description": control.description,
        "remediation": control.remediation,
        "mappings": [{"framework": m.framework, "requirement": m.requirement, "relationship": m.relationship.value}
                     for m in control.mappings],
    }


def render_snapshot(snap: PostureSnapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "object": "compliance_posture_snapshot",
        "livemode": snap.livemode,
        "created": iso(snap.created_at),
        "trigger": snap.trigger,
        "changes": snap.changes,
        "frameworks": snap.frameworks,
        "controls": snap.controls,
    }
