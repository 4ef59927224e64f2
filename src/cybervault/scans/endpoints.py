from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import app_settings, db_session
from cybervault.kit.pagination import PageParams, page_params
from cybervault.scans import schedules, service
from cybervault.scans.models import FINISHED_STATUSES
from cybervault.scans.render import render_finding, render_schedule
from cybervault.scans.results import scan_object
from cybervault.scans.schemas import (
    Depth,
    FindingStatus,
    FindingType,
    FindingUpdate,
    ScanCreate,
    ScanStatus,
    ScheduleCreate,
    Severity,
)

router = APIRouter(tags=["threats"])


def _scan_response(body: dict[str, Any], *, always_202: bool = False) -> JSONResponse:
    finished = body["status"] in FINISHED_STATUSES
    return JSONResponse(body, status_code=202 if always_202 or not finished else 200)


@router.get("/v1/threats/scan", summary="Run a threat scan and wait for its findings",
            responses={202: {"description": "Still running: the scan with its preliminary findings"}})
async def scan(
    request: Request,
    target_ip: str = Query(..., max_length=255, description="IP address or CIDR range to scan"),
    depth: Depth = Query("standard", description="Scan depth: quick, standard, deep"),
    include_vulns: bool = Query(True, description="Include CVE database cross-referencing"),
    wait: float = Query(20, ge=0, le=60, description="Seconds to wait for the scan to finish (max 60)"),
    principal: Principal = Depends(require("scans:write")),
    session: AsyncSession = Depends(db_session),
    settings: Settings = Depends(app_settings),
) -> JSONResponse:
    """Starts a scan and waits up to `wait` seconds: `200` with the result once it has finished, else `202`
    with the findings so far. Live targets must lie in the server's allowed networks and in a registered
    asset; test-mode keys get deterministic simulated results (see docs/sandbox.md)."""
    scan = await service.start_scan(session, principal, settings, target=target_ip, depth=depth,
                                    include_vulns=include_vulns)
    await session.commit()
    if scan.status in FINISHED_STATUSES:  # sandbox scans finish in the request
        return _scan_response(await scan_object(session, scan))
    await session.close()  # hand the connection back while we wait
    return _scan_response(await service.wait_for_scan(request.app.state.db, principal, scan.id, wait))


@router.post("/v1/threats/scans", status_code=202, summary="Start a threat scan")
async def create_scan(body: ScanCreate, principal: Principal = Depends(require("scans:write")),
                      session: AsyncSession = Depends(db_session),
                      settings: Settings = Depends(app_settings)) -> JSONResponse:
    scan = await service.start_scan(session, principal, settings, target=body.target_ip, depth=body.depth,
                                    include_vulns=body.include_vulns)
    await session.commit()
    return _scan_response(await scan_object(session, scan), always_202=True)


@router.get("/v1/threats/scans", summary="List scans")
async def list_scans(status: ScanStatus | None = None, params: PageParams = Depends(page_params),
                     principal: Principal = Depends(require("scans:read")),
                     session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await service.list_scans(session, principal, params, status=status)


@router.get("/v1/threats/scans/{scan_id}", summary="Retrieve a scan with its findings")
async def get_scan(scan_id: str, principal: Principal = Depends(require("scans:read")),
                   session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await service.get_scan(session, principal, scan_id)


@router.post("/v1/threats/scans/{scan_id}/cancel", summary="Cancel a queued or running scan")
async def cancel_scan(scan_id: str, principal: Principal = Depends(require("scans:write")),
                      session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    scan = await service.cancel_scan(session, principal, scan_id)
    await session.commit()
    return await scan_object(session, scan)


@router.get("/v1/threats/findings", summary="List findings")
async def list_findings(
    severity: Severity | None = None,
    type: FindingType | None = None,  # noqa: A002 - the API's parameter name
    host: str | None = Query(None, max_length=255),
    cve: str | None = Query(None, max_length=32),
    status: FindingStatus | None = None,
    scan_id: str | None = Query(None, max_length=64),
    params: PageParams = Depends(page_params),
    principal: Principal = Depends(require("scans:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    return await service.list_findings(session, principal, params, severity=severity, type=type, host=host,
                                       cve=cve, status=status, scan_id=scan_id)


@router.get("/v1/threats/findings/{finding_id}", summary="Retrieve a finding")
async def get_finding(finding_id: str, principal: Principal = Depends(require("scans:read")),
                      session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return render_finding(await service.get_finding(session, principal, finding_id))


@router.patch("/v1/threats/findings/{finding_id}", summary="Resolve, reopen or accept the risk of a finding")
async def update_finding(finding_id: str, body: FindingUpdate, principal: Principal = Depends(require("scans:write")),
                         session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    finding = await service.update_finding(session, principal, finding_id, body.status, body.reason)
    await session.commit()
    return render_finding(finding)


@router.post("/v1/threats/schedules", status_code=201, summary="Create a recurring scan")
async def create_schedule(body: ScheduleCreate, principal: Principal = Depends(require("scans:write")),
                          session: AsyncSession = Depends(db_session),
                          settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    schedule = await schedules.create_schedule(session, principal, settings, body)
    await session.commit()
    return render_schedule(schedule)


@router.get("/v1/threats/schedules", summary="List recurring scans")
async def list_schedules(params: PageParams = Depends(page_params),
                         principal: Principal = Depends(require("scans:read")),
                         session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await schedules.list_schedules(session, principal, params)


@router.get("/v1/threats/schedules/{schedule_id}", summary="Retrieve a recurring scan")
async def get_schedule(schedule_id: str, principal: Principal = Depends(require("scans:read")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return render_schedule(await schedules.get_schedule(session, principal, schedule_id))


@router.delete("/v1/threats/schedules/{schedule_id}", summary="Delete a recurring scan")
async def delete_schedule(schedule_id: str, principal: Principal = Depends(require("scans:write")),
                          session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    result = await schedules.delete_schedule(session, principal, schedule_id)
    await session.commit()
    return result
