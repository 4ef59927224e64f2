"""Compliance rules: posture on demand, recorded evaluations with change events, attestations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.compliance import repository as repo
from cybervault.compliance.catalog import FRAMEWORK_ORDER, get_catalog
from cybervault.compliance.evaluation import ControlResult, Posture, Status, evaluate_posture
from cybervault.compliance.evaluators import evaluate_controls
from cybervault.compliance.models import Attestation, PostureSnapshot
from cybervault.compliance.schemas import AttestationCreate
from cybervault.events.service import record_event
from cybervault.jobs.service import enqueue
from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import InvalidRequest
from cybervault.kit.ids import new_id
from cybervault.kit.time import iso

SNAPSHOT_EVERY = dt.timedelta(hours=24)  # a history point at least daily even when nothing flips
DEFAULT_ATTESTATION_DAYS = 365
MAX_ATTESTATION_DAYS = 3 * 365


def parse_frameworks(value: str | None) -> list[str]:
    """`soc2,iso27001` -> ids in catalog order; absent or empty means all."""
    if value is None or not value.strip():
        return list(FRAMEWORK_ORDER)
    requested = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [f for f in requested if f not in FRAMEWORK_ORDER]
    if unknown:
        raise InvalidRequest(
            f"Unknown framework {', '.join(repr(u) for u in unknown)}. Allowed values: {', '.join(FRAMEWORK_ORDER)}.",
            param="frameworks", extra={"allowed_values": list(FRAMEWORK_ORDER)})
    return [f for f in FRAMEWORK_ORDER if f in requested]


async def control_results(session: AsyncSession, org_id: str, livemode: bool,
                          now: dt.datetime, *, parallel: bool = False) -> dict[str, ControlResult]:
    attestations = await repo.tenant_attestations(session, org_id, livemode)
    return await evaluate_controls(session, org_id, livemode, now=now, attestations=attestations,
                                   parallel=parallel)


async def compute_posture(session: AsyncSession, org_id: str, livemode: bool,
                          frameworks: list[str] | None = None, now: dt.datetime | None = None,
                          *, parallel: bool = False) -> tuple[Posture, dt.datetime]:
    """Posture now. `parallel` spends extra connections to answer an API request sooner; background
    evaluations leave it off so a burst of them cannot drain the connection pool."""
    now = now or utcnow()
    results = await control_results(session, org_id, livemode, now, parallel=parallel)
    return evaluate_posture(get_catalog(), results, frameworks), now


@dataclass(frozen=True)
class EvaluationRecord:
    changes: list[tuple[str, str, str | None, str]]  # framework, requirement, before, after
    snapshot: PostureSnapshot | None
    baseline: bool
    skipped: bool = False  # another evaluation of the tenant was already running


def _requirement_object(posture: Posture, framework: str, requirement_id: str, before: str | None,
                        livemode: bool, now: dt.datetime) -> dict[str, Any]:
    fw = next(f for f in posture.frameworks if f.framework_id == framework)
    result = next(r for r in fw.requirements if r.requirement.id == requirement_id)
    return {
        "object": "compliance_requirement",
        "livemode": livemode,
        "framework": framework,
        "requirement": requirement_id,
        "title": result.requirement.title,
        "status": result.status.value,
        "before": before,
        "after": result.status.value,
        "evaluated_at": iso(now),
        "controls": [
            {"id": m.control_id, "relationship": m.relationship.value, "status": m.control_status.value,
             "summary": posture.controls[m.control_id].summary,
             "evidence": [e.as_dict() for e in posture.controls[m.control_id].evidence]}
            for m in result.controls
        ],
    }


async def evaluate_and_record(session: AsyncSession, org_id: str, livemode: bool, *,
                              trigger: str = "schedule") -> EvaluationRecord:
    """Evaluate, store the statuses, record `compliance.changed` for each flip, and keep history.

    The first evaluation of a tenant is its baseline: statuses are stored without events, since
    nothing "changed" from the organisation's point of view.
    """
    if not await repo.try_lock_tenant(session, org_id, livemode):
        return EvaluationRecord([], None, baseline=False, skipped=True)
    state = await repo.evaluation_state(session, org_id, livemode)
    now = utcnow()
    posture, _ = await compute_posture(session, org_id, livemode, now=now)
    new = {key: status.value for key, status in posture.statuses().items()}
    existing = await repo.requirement_statuses(session, org_id, livemode)
    baseline = not existing
    changes = [] if baseline else [
        (fw, req, existing.get((fw, req)), status) for (fw, req), status in sorted(new.items())
        if existing.get((fw, req)) != status
    ]
    await repo.save_requirement_statuses(session, org_id, livemode, now, new, existing)
    for fw, req, before, _after in changes:
        obj = _requirement_object(posture, fw, req, before, livemode, now)
        record_event(session, org_id=org_id, livemode=livemode, type="compliance.changed", obj=obj,
                     extra={"previous_attributes": {"status": before}})
    state.last_evaluated_at = now
    snapshot = None
    due = state.last_snapshot_at is None or now - state.last_snapshot_at >= SNAPSHOT_EVERY
    if baseline or changes or due or trigger == "manual":
        snapshot = PostureSnapshot(
            id=new_id("psn"), org_id=org_id, livemode=livemode, trigger=trigger, changes=len(changes),
            frameworks={fw.framework_id: {"score": fw.score, "counts": fw.counts} for fw in posture.frameworks},
            controls={cid: r.status.value for cid, r in posture.controls.items()}, created_at=now)
        session.add(snapshot)
        state.last_snapshot_at = now
    await session.flush()
    return EvaluationRecord(changes, snapshot, baseline)


def request_evaluation(session: AsyncSession, org_id: str, livemode: bool, trigger: str = "data_change") -> None:
    """Queue a re-evaluation after the caller's transaction commits. Other domains may call this."""
    enqueue(session, "compliance.evaluate", {"org_id": org_id, "livemode": livemode, "trigger": trigger},
            org_id=org_id, max_attempts=3)


# ---------------------------------------------------------------------------- attestations
async def create_attestation(session: AsyncSession, principal: Principal, body: AttestationCreate) -> Attestation:
    catalog = get_catalog()
    control = catalog.controls.get(body.control)
    if control is None:
        raise InvalidRequest(f"Unknown control '{body.control}'. GET /v1/compliance/controls lists them.",
                             param="control")
    if control.automated and body.status != Status.NOT_APPLICABLE.value:
        raise InvalidRequest(
            f"Control '{control.id}' is evaluated automatically from platform data; it can only be attested "
            "'not_applicable'.", param="status")
    now = utcnow()
    expires_at = body.expires_at or now + dt.timedelta(days=DEFAULT_ATTESTATION_DAYS)
    if expires_at <= now:
        raise InvalidRequest("'expires_at' must be in the future.", param="expires_at")
    if expires_at > now + dt.timedelta(days=MAX_ATTESTATION_DAYS):
        raise InvalidRequest("'expires_at' may be at most three years away; evidence must be re-checked.",
                             param="expires_at")
    att = Attestation(id=new_id("att"), control_id=control.id, status=body.status,
                      evidence_url=body.evidence_url, notes=body.notes, attested_by=body.attested_by,
                      expires_at=expires_at, created_by_key=principal.key_id, created_at=now)
    repo.AttestationRepository(session, principal).add(att)
    request_evaluation(session, principal.org_id, principal.livemode, trigger="attestation")
    await session.flush()
    return att


async def delete_attestation(session: AsyncSession, principal: Principal, attestation_id: str) -> Attestation:
    att = await repo.AttestationRepository(session, principal).get(attestation_id)
    await session.delete(att)
    request_evaluation(session, principal.org_id, principal.livemode, trigger="attestation")
    await session.flush()
    return att


def check_control_filter(control: str | None) -> None:
    if control is not None and control not in get_catalog().controls:
        raise InvalidRequest(f"Unknown control '{control}'.", param="control")
