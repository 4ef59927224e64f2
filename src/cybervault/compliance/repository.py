"""Compliance queries, all scoped to one org and mode."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.compliance.models import Attestation, EvaluationState, PostureSnapshot, RequirementStatus
from cybervault.kit.repository import TenantRepository


class AttestationRepository(TenantRepository[Attestation]):
    model = Attestation
    noun = "attestation"


class SnapshotRepository(TenantRepository[PostureSnapshot]):
    model = PostureSnapshot
    noun = "posture snapshot"

    async def latest(self) -> PostureSnapshot | None:
        stmt = self.select().order_by(PostureSnapshot.id.desc()).limit(1)
        return (await self.session.scalars(stmt)).first()


async def tenant_attestations(session: AsyncSession, org_id: str, livemode: bool) -> list[Attestation]:
    """Every attestation of the tenant; evaluation picks the newest unexpired one per control."""
    stmt = select(Attestation).where(Attestation.org_id == org_id, Attestation.livemode == livemode)
    return list((await session.scalars(stmt)).all())


async def requirement_statuses(session: AsyncSession, org_id: str, livemode: bool) -> dict[tuple[str, str], str]:
    stmt = select(RequirementStatus.framework, RequirementStatus.requirement_id, RequirementStatus.status).where(
        RequirementStatus.org_id == org_id, RequirementStatus.livemode == livemode)
    return {(fw, req): status for fw, req, status in (await session.execute(stmt)).all()}


async def save_requirement_statuses(
    session: AsyncSession, org_id: str, livemode: bool, now: dt.datetime,
    new: dict[tuple[str, str], str], existing: dict[tuple[str, str], str],
) -> None:
    """Insert unseen requirements and update only those whose status changed."""
    for (fw, req), status in new.items():
        if (fw, req) not in existing:
            session.add(RequirementStatus(org_id=org_id, livemode=livemode, framework=fw, requirement_id=req,
                                          status=status, changed_at=now, evaluated_at=now))
        elif existing[(fw, req)] != status:
            await session.execute(
                update(RequirementStatus)
                .where(RequirementStatus.org_id == org_id, RequirementStatus.livemode == livemode,
                       RequirementStatus.framework == fw, RequirementStatus.requirement_id == req)
                .values(status=status, changed_at=now, evaluated_at=now)
            )


async def try_lock_tenant(session: AsyncSession, org_id: str, livemode: bool) -> bool:
    """Claim the tenant's evaluation for this transaction, without waiting.

    False means another evaluation of the same tenant is running right now: it would record the same
    flips, so the caller skips (the next sweep catches anything that changed after it started). On
    PostgreSQL this is a transaction-scoped advisory lock; SQLite's BEGIN IMMEDIATE already lets only
    one writer in at a time.
    """
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return True
    digest = hashlib.sha256(f"compliance.evaluate:{org_id}:{livemode}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(key))))


async def evaluation_state(session: AsyncSession, org_id: str, livemode: bool) -> EvaluationState:
    state = await session.get(EvaluationState, (org_id, livemode))
    if state is None:
        state = EvaluationState(org_id=org_id, livemode=livemode)
        session.add(state)
        await session.flush()
    return state


async def all_evaluation_states(session: AsyncSession) -> dict[tuple[str, bool], EvaluationState]:
    rows = (await session.scalars(select(EvaluationState))).all()
    return {(s.org_id, s.livemode): s for s in rows}


async def tenants_with_keys(session: AsyncSession) -> list[tuple[str, bool]]:
    """Every (org, mode) that has an unrevoked API key: the tenants worth evaluating on schedule."""
    from cybervault.keys.models import ApiKey

    stmt = select(ApiKey.org_id, ApiKey.livemode).where(ApiKey.revoked_at.is_(None)).distinct()
    return [(org, bool(mode)) for org, mode in (await session.execute(stmt)).all()]


async def pending_evaluations(session: AsyncSession) -> set[tuple[str, bool]]:
    """Tenants with a compliance.evaluate job still queued."""
    from cybervault.jobs.models import Job

    stmt = select(Job.payload).where(Job.kind == "compliance.evaluate", Job.status == "queued")
    out = set()
    for payload in (await session.scalars(stmt)).all():
        if isinstance(payload, dict) and "org_id" in payload:
            out.add((str(payload["org_id"]), bool(payload.get("livemode"))))
    return out


async def latest_activity(session: AsyncSession, since: dt.datetime) -> dict[tuple[str, bool], dt.datetime]:
    """Newest relevant event or audited change per tenant since `since` (the change feed we watch)."""
    from cybervault.audit.models import AuditLog
    from cybervault.events.models import Event

    out: dict[tuple[str, bool], dt.datetime] = {}
    queries: list[Any] = [
        select(Event.org_id, Event.livemode, func.max(Event.created_at))
        .where(Event.created_at > since, ~Event.type.startswith("compliance."), Event.type != "webhook.test")
        .group_by(Event.org_id, Event.livemode),
        select(AuditLog.org_id, AuditLog.livemode, func.max(AuditLog.created_at))
        .where(and_(AuditLog.created_at > since, AuditLog.status_code < 400))
        .group_by(AuditLog.org_id, AuditLog.livemode),
    ]
    for stmt in queries:
        for org_id, livemode, newest in (await session.execute(stmt)).all():
            key = (org_id, bool(livemode))
            if newest is not None and (key not in out or newest > out[key]):
                out[key] = newest
    return out
