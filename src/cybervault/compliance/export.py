"""Posture exports: OSCAL assessment-results JSON and a CSV with one row per requirement.

OSCAL tokens must start with a letter or underscore and hold only letters, digits, '.', '-', '_', so
requirement ids such as `164.308(a)(1)(i)` become `hipaa_164.308_a_1_i`; the original id travels in a
property. Each automated or attested control becomes an observation; each requirement a finding that
points at the observations of its mapped controls.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

from cybervault.compliance.evaluation import ControlResult, Posture, Status
from cybervault.kit.time import iso

OSCAL_VERSION = "1.2.1"
NS = "https://cybervault.io/ns/oscal"
_NAMESPACE = uuid.UUID("6f1c1f5e-7a4e-4d0b-9b3e-2f4d1c0a9e11")  # stable uuids for stable objects
EXPORT_FORMATS = ("oscal", "csv")


def oscal_token(framework: str, requirement_id: str) -> str:
    body = re.sub(r"[^A-Za-z0-9.\-_]+", "_", requirement_id).strip("_")
    return f"{framework}_{body}".lower()


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": value}


def _observation(tenant: str, result: ControlResult, now: dt.datetime) -> dict[str, Any]:
    evidence = [{"description": e.description + (f" (ids: {', '.join(e.object_ids)})" if e.object_ids else "")}
                for e in result.evidence] or [{"description": result.summary}]
    for item, e in zip(evidence, result.evidence, strict=False):
        url = e.details.get("evidence_url") if e.details else None
        if url:
            item["href"] = url
    return {
        "uuid": _uuid(tenant, "observation", result.control_id, iso(now) or ""),
        "title": f"{result.control_id}: {result.status.value}",
        "description": result.summary,
        "props": [_prop("control-id", result.control_id), _prop("control-status", result.status.value)],
        # OSCAL methods: TEST for automated checks against live data, EXAMINE for attested documents.
        "methods": ["EXAMINE" if result.method == "attestation" else "TEST"],
        "types": ["control-objective"],
        "relevant-evidence": evidence,
        "collected": iso(result.evaluated_at or now),
    }


def _target_status(status: Status) -> dict[str, Any] | None:
    if status is Status.PASS:
        return {"state": "satisfied", "reason": "pass"}
    if status is Status.FAIL:
        return {"state": "not-satisfied", "reason": "fail"}
    if status is Status.NOT_APPLICABLE:
        return None  # stated through implementation-status instead
    return {"state": "not-satisfied", "reason": "other", "remarks": f"CyberVault status: {status.value}"}


def to_oscal(posture: Posture, *, org_id: str, livemode: bool, now: dt.datetime) -> dict[str, Any]:
    tenant = f"{org_id}:{'live' if livemode else 'test'}"
    observation_ids: dict[str, str] = {}
    observations = []
    for cid, result in posture.controls.items():
        obs = _observation(tenant, result, now)
        observation_ids[cid] = obs["uuid"]
        observations.append(obs)
    findings = []
    for fw in posture.frameworks:
        for r in fw.requirements:
            req = r.requirement
            target: dict[str, Any] = {
                "type": "objective-id",
                "target-id": oscal_token(fw.framework_id, req.id),
                "title": f"{fw.name} {req.id}",
                "props": [_prop("framework", fw.framework_id), _prop("requirement-id", req.id)],
            }
            status = _target_status(r.status)
            if status is not None:
                target["status"] = status
            else:
                target["implementation-status"] = {"state": "not-applicable"}
            finding: dict[str, Any] = {
                "uuid": _uuid(tenant, "finding", fw.framework_id, req.id, iso(now) or ""),
                "title": f"{fw.framework_id} {req.id}: {r.status.value}",
                "description": req.title,
                "props": [_prop("status", r.status.value)],
                "target": target,
            }
            related = [{"observation-uuid": observation_ids[m.control_id]} for m in r.controls]
            if related:
                finding["related-observations"] = related
            findings.append(finding)
    frameworks = ", ".join(fw.name for fw in posture.frameworks)
    return {
        "assessment-results": {
            "uuid": str(uuid.uuid4()),
            "metadata": {
                "title": f"CyberVault compliance posture ({frameworks})",
                "last-modified": iso(now),
                "version": iso(now),
                "oscal-version": OSCAL_VERSION,
                "props": [_prop("organization", org_id), _prop("livemode", str(livemode).lower())],
            },
            "import-ap": {"href": "#cybervault-continuous-assessment"},
            "results": [{
                "uuid": _uuid(tenant, "result", iso(now) or ""),
                "title": "Continuous control evaluation",
                "description": "Automated evaluation of platform data plus attestations, mapped to framework "
                               "requirements through CyberVault's unified controls.",
                "start": iso(now),
                "end": iso(now),
                "props": [_prop("score-" + fw.framework_id, str(fw.score if fw.score is not None else "n/a"))
                          for fw in posture.frameworks],
                "reviewed-controls": {"control-selections": [{"include-all": {}}]},
                "observations": observations,
                "findings": findings,
            }],
        }
    }


CSV_COLUMNS = ("framework", "requirement_id", "title", "group", "implementation", "status", "controls",
               "evidence", "remediation")


def _cell(value: str) -> str:
    # Spreadsheets run cells starting with these as formulas; attestation text is user input.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_csv(posture: Posture) -> str:
    from cybervault.compliance.catalog import get_catalog

    catalog = get_catalog()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for fw in posture.frameworks:
        for r in fw.requirements:
            req = r.requirement
            controls = "; ".join(f"{m.control_id} ({m.relationship.value}, {m.control_status.value})"
                                 for m in r.controls)
            evidence = " | ".join(posture.controls[m.control_id].summary for m in r.controls)
            remediation = " | ".join(
                f"{m.control_id}: {catalog.controls[m.control_id].remediation}" for m in r.controls
                if m.control_status in (Status.FAIL, Status.PARTIAL, Status.NOT_ASSESSED))
            writer.writerow([_cell(v) for v in (fw.framework_id, req.id, req.title, req.group,
                                                req.implementation or "", r.status.value, controls, evidence,
                                                remediation)])
    return out.getvalue()
