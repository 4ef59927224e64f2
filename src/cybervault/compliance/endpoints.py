"""Compliance API: posture, catalog, attestations, history, exports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.compliance import service
from cybervault.compliance.catalog import get_catalog
from cybervault.compliance.export import EXPORT_FORMATS, to_csv, to_oscal
from cybervault.compliance.models import Attestation
from cybervault.compliance.repository import AttestationRepository, SnapshotRepository
from cybervault.compliance.schemas import (
    AttestationCreate,
    render_attestation,
    render_control,
    render_framework,
    render_posture,
    render_snapshot,
)
from cybervault.kit.auth import Principal, require
from cybervault.kit.db import utcnow
from cybervault.kit.deps import db_session
from cybervault.kit.errors import InvalidRequest, ResourceNotFound
from cybervault.kit.pagination import PageParams, list_object, page_params

router = APIRouter(tags=["compliance"])

FRAMEWORKS_HELP = "Comma-separated framework ids: soc2, iso27001, hipaa, gdpr (default: all)"


@router.get("/v1/compliance/posture", summary="Current compliance posture with mapping and gap analysis",
            response_model=None)
async def get_posture(
    frameworks: str | None = Query(None, description=FRAMEWORKS_HELP),
    principal: Principal = Depends(require("compliance:read")),
    session: AsyncSession = Depends(db_session),
) -> JSONResponse:
    selected = service.parse_frameworks(frameworks)
    posture, now = await service.compute_posture(session, principal.org_id, principal.livemode, selected,
                                                 parallel=True)
    # The body is plain JSON types already; skipping FastAPI's generic re-encoding of ~200 kB matters here.
    return JSONResponse(render_posture(posture, livemode=principal.livemode, evaluated_at=now))


@router.get("/v1/compliance/posture/history", summary="Posture snapshots over time, newest first")
async def posture_history(
    params: PageParams = Depends(page_params),
    principal: Principal = Depends(require("compliance:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    return await SnapshotRepository(session, principal).page(params, render_snapshot)


@router.get("/v1/compliance/frameworks", summary="Frameworks and their requirements")
async def list_frameworks(
    request: Request, principal: Principal = Depends(require("compliance:read")),
) -> dict[str, Any]:
    catalog = get_catalog()
    return list_object(request.url.path, [render_framework(fw, catalog) for fw in catalog.frameworks.values()])


@router.get("/v1/compliance/frameworks/{framework_id}", summary="One framework and its requirements")
async def get_framework(
    framework_id: str, principal: Principal = Depends(require("compliance:read")),
) -> dict[str, Any]:
    catalog = get_catalog()
    framework = catalog.frameworks.get(framework_id)
    if framework is None:
        raise ResourceNotFound(f"No such framework: '{framework_id}'. Allowed values: "
                               f"{', '.join(catalog.frameworks)}.", param="framework_id")
    return render_framework(framework, catalog)


@router.get("/v1/compliance/controls/{control_id}", summary="One unified control and its mappings")
async def get_control(
    control_id: str, principal: Principal = Depends(require("compliance:read")),
) -> dict[str, Any]:
    control = get_catalog().controls.get(control_id)
    if control is None:
        raise ResourceNotFound(f"No such control: '{control_id}'.", param="control_id")
    return render_control(control)


@router.get("/v1/compliance/controls", summary="Unified controls and their framework mappings")
async def list_controls(
    request: Request,
    framework: str | None = Query(None, description="Only controls mapped to this framework"),
    principal: Principal = Depends(require("compliance:read")),
) -> dict[str, Any]:
    catalog = get_catalog()
    controls = list(catalog.controls.values())
    if framework is not None:
        fw = service.parse_frameworks(framework)
        if len(fw) != 1:
            raise InvalidRequest("Give one framework id.", param="framework")
        controls = [c for c in controls if any(m.framework == fw[0] for m in c.mappings)]
    return list_object(request.url.path, [render_control(c) for c in controls])


@router.post("/v1/compliance/attestations", status_code=201, summary="Attest to a control with evidence")
async def create_attestation(
    body: AttestationCreate,
    principal: Principal = Depends(require("compliance:write")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    att = await service.create_attestation(session, principal, body)
    await session.commit()
    return render_attestation(att, utcnow())


@router.get("/v1/compliance/attestations", summary="List attestations, newest first")
async def list_attestations(
    params: PageParams = Depends(page_params),
    control: str | None = Query(None, description="Only attestations of this control"),
    principal: Principal = Depends(require("compliance:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    service.check_control_filter(control)
    repo = AttestationRepository(session, principal)
    stmt = repo.select()
    if control is not None:
        stmt = stmt.where(Attestation.control_id == control)
    now = utcnow()
    return await repo.page(params, lambda a: render_attestation(a, now), stmt)


@router.get("/v1/compliance/attestations/{attestation_id}", summary="Retrieve an attestation")
async def get_attestation(
    attestation_id: str,
    principal: Principal = Depends(require("compliance:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    att = await AttestationRepository(session, principal).get(attestation_id)
    return render_attestation(att, utcnow())


@router.delete("/v1/compliance/attestations/{attestation_id}", summary="Delete an attestation")
async def delete_attestation(
    attestation_id: str,
    principal: Principal = Depends(require("compliance:write")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    att = await service.delete_attestation(session, principal, attestation_id)
    await session.commit()
    return {"id": att.id, "object": "compliance_attestation", "deleted": True}


@router.get("/v1/compliance/export", summary="Export posture as OSCAL assessment-results JSON or CSV",
            response_model=None)
async def export_posture(
    format: str = Query("oscal", description="oscal or csv"),
    frameworks: str | None = Query(None, description=FRAMEWORKS_HELP),
    principal: Principal = Depends(require("compliance:read")),
    session: AsyncSession = Depends(db_session),
) -> Response:
    if format not in EXPORT_FORMATS:
        raise InvalidRequest(f"Unknown format '{format}'. Allowed values: {', '.join(EXPORT_FORMATS)}.",
                             param="format", extra={"allowed_values": list(EXPORT_FORMATS)})
    selected = service.parse_frameworks(frameworks)
    posture, now = await service.compute_posture(session, principal.org_id, principal.livemode, selected,
                                                 parallel=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if format == "csv":
        return Response(to_csv(posture), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="compliance-{stamp}.csv"'})
    document = to_oscal(posture, org_id=principal.org_id, livemode=principal.livemode, now=now)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="assessment-results-{stamp}.json"'})
