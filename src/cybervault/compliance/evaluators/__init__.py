"""Run every control's evaluation for one org and mode: automated evaluators plus attestations."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.compliance.catalog import Catalog, get_catalog
from cybervault.compliance.evaluation import ControlResult, Evidence, Status, not_assessed
from cybervault.compliance.evaluators import assets, findings, incidents, platform  # noqa: F401 - registers
from cybervault.compliance.evaluators.base import (
    EVALUATORS,
    EvaluationContext,
    Thresholds,
    Unavailable,
)
from cybervault.compliance.models import Attestation
from cybervault.kit.time import iso

log = structlog.get_logger(__name__)

# Requests evaluating in parallel at once (each borrows 3 extra pooled connections). Beyond this they
# run sequentially, so a burst of posture requests can never starve the connection pool.
MAX_PARALLEL_PREFETCH = 2
_prefetching = 0

__all__ = ["EVALUATORS", "Thresholds", "evaluate_controls", "attestation_result"]


def attestation_result(control_id: str, attestations: Iterable[Attestation], now: dt.datetime) -> ControlResult:
    """The newest unexpired attestation decides; an expired one counts as not assessed."""
    ordered = sorted(attestations, key=lambda a: a.created_at, reverse=True)
    current = next((a for a in ordered if a.expires_at > now), None)
    if current is None:
        if ordered:
            last = ordered[0]
            return ControlResult(control_id, Status.NOT_ASSESSED, f"The attestation expired on {iso(last.expires_at)}.",
                                 (_attestation_evidence(last, expired=True),), "attestation", now)
        return not_assessed(control_id, "Not attested yet.", method="attestation")
    return ControlResult(control_id, Status(current.status), f"Attested {current.status} by {current.attested_by}.",
                         (_attestation_evidence(current, expired=False),), "attestation", now)


def _attestation_evidence(att: Attestation, *, expired: bool) -> Evidence:
    details = {"attested_by": att.attested_by, "evidence_url": att.evidence_url, "notes": att.notes,
               "expires_at": iso(att.expires_at), "expired": expired, "status": att.status}
    return Evidence(f"Attestation by {att.attested_by}" + (" (expired)" if expired else ""), "attestation", 1,
                    (att.id,), att.created_at, details)


async def evaluate_controls(
    session: AsyncSession, org_id: str, livemode: bool, *, now: dt.datetime,
    attestations: Iterable[Attestation] = (), catalog: Catalog | None = None,
    thresholds: Thresholds | None = None, parallel: bool = False,
) -> dict[str, ControlResult]:
    catalog = catalog or get_catalog()
    by_control: dict[str, list[Attestation]] = {}
    for att in attestations:
        by_control.setdefault(att.control_id, []).append(att)
    ctx = EvaluationContext(session, org_id, livemode, now, thresholds or Thresholds())
    # Attestations first: they are already loaded, and a failed evaluator's rollback would expire them.
    results: dict[str, ControlResult] = {}
    automated = []
    for control in catalog.controls.values():
        attested = attestation_result(control.id, by_control.get(control.id, ()), now)
        # An automated control can be attested not applicable (e.g. no personal data is processed).
        if not control.automated or attested.status is Status.NOT_APPLICABLE:
            results[control.id] = attested
        else:
            automated.append(control)
    if automated and parallel:
        await _prefetch(ctx)
    for control in automated:
        results[control.id] = await _run(ctx, control.id, control.evaluator)
    # Keep catalog order for the response.
    return {cid: results[cid] for cid in catalog.controls}


async def _prefetch(ctx: EvaluationContext) -> None:
    """On PostgreSQL, run the three table-wide aggregates at once on their own connections.

    They dominate evaluation time and are independent, so the database can work on them in parallel;
    the evaluators then find the numbers in the shared cache. SQLite takes a write lock per transaction,
    so there they simply run in order inside the evaluators.
    """
    global _prefetching
    bind = ctx.session.bind
    if bind is None or bind.dialect.name != "postgresql" or _prefetching >= MAX_PARALLEL_PREFETCH:
        return  # busy: the evaluators run the same queries in order on the request's own connection

    async def one(counts: Callable[[EvaluationContext], Awaitable[Any]]) -> None:
        async with AsyncSession(bind) as session:
            try:
                await counts(replace(ctx, session=session))
            except Exception as exc:  # noqa: BLE001 - the evaluator retries on its own session and reports
                log.debug("compliance.prefetch_failed", error=repr(exc))

    _prefetching += 1
    try:
        await asyncio.gather(one(findings._counts), one(incidents._counts), one(assets._counts))
    finally:
        _prefetching -= 1


async def _run(ctx: EvaluationContext, control_id: str, name: str) -> ControlResult:
    func = EVALUATORS.get(name)
    if func is None:
        return not_assessed(control_id, f"No evaluator named {name!r} is installed.", method="automated")
    try:
        outcome = await func(ctx)
    except Unavailable as exc:
        return ControlResult(control_id, Status.NOT_ASSESSED, str(exc), method="automated", evaluated_at=ctx.now)
    except Exception as exc:  # a broken evaluator must not take the whole posture down
        log.warning("compliance.evaluator_failed", control=control_id, evaluator=name, error=repr(exc))
        # Evaluation only reads, so discarding the transaction loses nothing and clears an aborted one.
        await ctx.session.rollback()
        return ControlResult(control_id, Status.NOT_ASSESSED, "The evaluator could not run; see server logs.",
                             method="automated", evaluated_at=ctx.now)
    return ControlResult(control_id, outcome.status, outcome.summary, outcome.evidence, "automated", ctx.now)
