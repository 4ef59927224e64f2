"""Recurring scans: a schedule names a target or assets, a depth and an interval; a periodic job
starts the scans of every schedule that is due."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.assets.repository import AssetRepository
from cybervault.config import Settings
from cybervault.kit.auth import Principal
from cybervault.kit.db import Database
from cybervault.kit.errors import CyberVaultError, InvalidRequest
from cybervault.kit.ids import new_id
from cybervault.kit.pagination import PageParams
from cybervault.kit.time import utcnow
from cybervault.scans.models import ScanSchedule
from cybervault.scans.render import render_schedule
from cybervault.scans.repository import ScheduleRepository
from cybervault.scans.results import principal_for
from cybervault.scans.schemas import ScheduleCreate
from cybervault.scans.scope import parse_scan_target

log = structlog.get_logger(__name__)
DUE_BATCH = 100


async def create_schedule(session: AsyncSession, principal: Principal, settings: Settings,
                          body: ScheduleCreate) -> ScanSchedule:
    target = None
    asset_ids: list[str] = []
    if body.target:
        target = parse_scan_target(body.target, settings, param="target").text
    else:
        assets = AssetRepository(session, principal)
        for asset_id in dict.fromkeys(body.asset_ids or []):
            if await assets.find(asset_id) is None:
                raise InvalidRequest(f"No such asset: '{asset_id}'", param="asset_ids")
            asset_ids.append(asset_id)
    now = utcnow()
    schedule = ScheduleRepository(session, principal).add(ScanSchedule(
        id=new_id("ssch"), target=target, asset_ids=asset_ids, depth=body.depth,
        include_vulns=body.include_vulns, interval_minutes=body.interval_minutes, active=body.active,
        next_run_at=now,  # first run at the next tick, then every interval
        last_scan_ids=[], created_at=now, updated_at=now,
    ))
    await session.flush()
    return schedule


async def list_schedules(session: AsyncSession, principal: Principal, params: PageParams) -> dict[str, Any]:
    return await ScheduleRepository(session, principal).page(params, render_schedule)


async def get_schedule(session: AsyncSession, principal: Principal, schedule_id: str) -> ScanSchedule:
    return await ScheduleRepository(session, principal).get(schedule_id)


async def delete_schedule(session: AsyncSession, principal: Principal, schedule_id: str) -> dict[str, Any]:
    schedule = await ScheduleRepository(session, principal).get(schedule_id)
    await session.delete(schedule)
    await session.flush()
    return {"id": schedule_id, "object": "scan_schedule", "deleted": True}


async def _targets(session: AsyncSession, principal: Principal, schedule: ScanSchedule) -> list[str]:
    if schedule.target:
        return [schedule.target]
    assets = AssetRepository(session, principal)
    out = []
    for asset_id in schedule.asset_ids or []:
        asset = await assets.find(asset_id)
        if asset is not None:
            out.append(asset.target)
    return out


async def run_due_schedules(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Start the scans of due schedules; returns how many scans were started."""
    from cybervault.scans.service import start_scan  # service imports nothing from here; avoid a cycle

    now = now or utcnow()
    started = 0
    async with db.session() as session, session.begin():
        stmt = (select(ScanSchedule).where(ScanSchedule.active.is_(True), ScanSchedule.next_run_at <= now)
                .order_by(ScanSchedule.next_run_at).limit(DUE_BATCH))
        bind = session.bind
        if bind is not None and bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # several workers may run this job at once
        for schedule in (await session.scalars(stmt)).all():
            principal = principal_for(schedule)
            ids: list[str] = []
            errors: list[str] = []
            targets = await _targets(session, principal, schedule)
            if not targets:
                errors.append("none of the schedule's assets exist any more")
            for target in targets:
                try:
                    async with session.begin_nested():
                        scan = await start_scan(session, principal, settings, target=target, depth=schedule.depth,
                                                include_vulns=schedule.include_vulns, schedule_id=schedule.id,
                                                param="target")
                    ids.append(scan.id)
                except CyberVaultError as exc:
                    errors.append(f"{target}: {exc.message}")
            interval = dt.timedelta(minutes=schedule.interval_minutes)
            schedule.next_run_at = max(schedule.next_run_at + interval, now + interval / 2)
            schedule.last_run_at, schedule.last_scan_ids = now, ids
            schedule.last_error = "; ".join(errors)[:2000] or None
            schedule.updated_at = now
            started += len(ids)
    if started:
        log.info("scans.schedules_started", scans=started)
    return started
