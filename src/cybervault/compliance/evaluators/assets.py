"""Evaluators over the asset inventory and scan activity: coverage, ownership, schedules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select

from cybervault.compliance.evaluation import Evidence, Status
from cybervault.compliance.evaluators.base import (
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


@evaluator("scan_coverage")
async def scan_coverage(ctx: EvaluationContext) -> Outcome:
    asset = _asset_model()
    scanned = column(asset, "last_scanned_at", "last_scan_at", "scanned_at")
    days = ctx.thresholds.scan_freshness_days
    stale = or_(scanned.is_(None), scanned < ctx.days_ago(days))
    row = (await ctx.session.execute(
        select(func.count(), func.sum(case((stale, 1), else_=0)), func.min(scanned))
        .where(*ctx.tenant(asset), *_active(asset))
    )).one()
    total, n_stale, oldest = int(row[0] or 0), int(row[1] or 0), row[2]
    if total == 0:
        return _no_assets(ctx)
    if n_stale == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'asset')} were scanned in the last {days} days.",
                       (Evidence(f"{total} of {total} assets scanned within {days} days", "assets", total, (),
                                 ctx.now, {"oldest_scan": oldest.isoformat() if oldest else None}),))
    ids = await ctx.sample_ids(asset, stale, *_active(asset))
    status = ratio_status(n_stale, total, ctx.thresholds.coverage_partial_ratio)
    return Outcome(status, f"{plural(n_stale, 'asset')} of {total} not scanned in the last {days} days.",
                   (Evidence(f"{plural(n_stale, 'asset')} never scanned or last scanned over {days} days ago",
                             "assets", n_stale, ids, ctx.now, {"total_assets": total, "window_days": days}),))


@evaluator("asset_ownership")
async def asset_ownership(ctx: EvaluationContext) -> Outcome:
    asset = _asset_model()
    owner = column(asset, "owner")
    criticality = column(asset, "criticality")
    missing = or_(owner.is_(None), owner == "", criticality.is_(None), criticality == "")
    row = (await ctx.session.execute(
        select(func.count(), func.sum(case((missing, 1), else_=0))).where(*ctx.tenant(asset), *_active(asset))
    )).one()
    total, n_missing = int(row[0] or 0), int(row[1] or 0)
    if total == 0:
        return _no_assets(ctx)
    if n_missing == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'asset')} have an owner and a criticality.",
                       (Evidence(f"{total} of {total} assets have owner and criticality", "assets", total, (),
                                 ctx.now),))
    ids = await ctx.sample_ids(asset, missing, *_active(asset))
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
