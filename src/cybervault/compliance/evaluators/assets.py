"""Evaluators over the asset inventory and scan activity: coverage, ownership, schedules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select

from cybervault.compliance.evaluation import Evidence, Status
from cybervault.compliance.evaluators.base import (
    SAMPLE_IDS,
    EvaluationContext,
    Outcome,
    column,
    evaluator,
    plural,
    ratio_status,
    require_model,
)


def _asset_model() -> Any:
    return require_model("cybervault.assets.models", "Asset", what="Assets")


def _no_assets(ctx: EvaluationContext) -> Outcome:
    return Outcome(Status.NOT_ASSESSED, "No assets are registered, so there is nothing to assess.",
                   (Evidence("0 assets registered", "assets", 0, (), ctx.now),))


def _active(model: Any) -> list[Any]:
    deleted = column(model, "deleted_at", required=False)
    return [deleted.is_(None)] if deleted is not None else []


def _conditions(ctx: EvaluationContext) -> dict[str, Any]:
    asset = _asset_model()
    out: dict[str, Any] = {}
    scanned = column(asset, "last_scanned_at", "last_scan_at", "scanned_at", required=False)
    if scanned is not None:
        out["stale"] = or_(scanned.is_(None), scanned < ctx.days_ago(ctx.thresholds.scan_freshness_days))
    owner = column(asset, "owner", required=False)
    criticality = column(asset, "criticality", required=False)
    if owner is not None and criticality is not None:
        out["unowned"] = or_(owner.is_(None), owner == "", criticality.is_(None), criticality == "")
    return out


async def _counts(ctx: EvaluationContext) -> dict[str, int]:
    """Coverage and ownership numbers from one pass over the tenant's assets."""
    if "asset_counts" in ctx.cache:
        return ctx.cache["asset_counts"]  # type: ignore[no-any-return]
    asset = _asset_model()
    conditions = _conditions(ctx)
    row = (await ctx.session.execute(
        select(func.count().label("total"), *[func.count().filter(c).label(n) for n, c in conditions.items()])
        .where(*ctx.tenant(asset), *_active(asset))
    )).one()
    counts = {name: int(getattr(row, name) or 0) for name in ("total", *conditions)}
    ctx.cache["asset_counts"] = counts
    return counts


async def _sample(ctx: EvaluationContext, condition: Any) -> tuple[str, ...]:
    asset = _asset_model()
    stmt = select(asset.id).where(*ctx.tenant(asset), *_active(asset), condition).limit(SAMPLE_IDS)
    return tuple((await ctx.session.scalars(stmt)).all())


@evaluator("scan_coverage")
async def scan_coverage(ctx: EvaluationContext) -> Outcome:
    column(_asset_model(), "last_scanned_at", "last_scan_at", "scanned_at")  # Unavailable if not recorded
    days = ctx.thresholds.scan_freshness_days
    counts = await _counts(ctx)
    total, n_stale = counts["total"], counts["stale"]
    if total == 0:
        return _no_assets(ctx)
    if n_stale == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'asset')} were scanned in the last {days} days.",
                       (Evidence(f"{total} of {total} assets scanned within {days} days", "assets", total, (),
                                 ctx.now, {"window_days": days}),))
    ids = await _sample(ctx, _conditions(ctx)["stale"])
    status = ratio_status(n_stale, total, ctx.thresholds.coverage_partial_ratio)
    return Outcome(status, f"{plural(n_stale, 'asset')} of {total} not scanned in the last {days} days.",
                   (Evidence(f"{plural(n_stale, 'asset')} never scanned or last scanned over {days} days ago",
                             "assets", n_stale, ids, ctx.now, {"total_assets": total, "window_days": days}),))


@evaluator("asset_ownership")
async def asset_ownership(ctx: EvaluationContext) -> Outcome:
    column(_asset_model(), "owner")
    column(_asset_model(), "criticality")
    counts = await _counts(ctx)
    total, n_missing = counts["total"], counts["unowned"]
    if total == 0:
        return _no_assets(ctx)
    if n_missing == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'asset')} have an owner and a criticality.",
                       (Evidence(f"{total} of {total} assets have owner and criticality", "assets", total, (),
                                 ctx.now),))
    ids = await _sample(ctx, _conditions(ctx)["unowned"])
    status = ratio_status(n_missing, total, ctx.thresholds.coverage_partial_ratio)
    return Outcome(status, f"{plural(n_missing, 'asset')} of {total} lack an owner or criticality.",
                   (Evidence(f"{plural(n_missing, 'asset')} without owner or criticality", "assets", n_missing,
                             ids, ctx.now, {"total_assets": total}),))


@evaluator("scan_schedules")
async def scan_schedules(ctx: EvaluationContext) -> Outcome:
    schedule = require_model("cybervault.scans.models", "ScanSchedule", "Schedule", what="Scan schedules")
    enabled = column(schedule, "enabled", "active", "status", required=False)
    conditions: list[Any] = [*_active(schedule)]
    if enabled is not None:
        if enabled.key == "status":
            conditions.append(enabled.in_(("active", "enabled")))
        else:
            conditions.append(enabled.is_(True))
    count = int(await ctx.session.scalar(
        select(func.count()).select_from(schedule).where(*ctx.tenant(schedule), and_(*conditions))) or 0)
    if count == 0:
        return Outcome(Status.FAIL, "No recurring scan schedule is active.",
                       (Evidence("0 active scan schedules", "scan_schedules", 0, (), ctx.now),))
    ids = await ctx.sample_ids(schedule, *conditions)
    return Outcome(Status.PASS, f"{plural(count, 'active scan schedule')}.",
                   (Evidence(f"{plural(count, 'active scan schedule')}", "scan_schedules", count, ids, ctx.now),))
