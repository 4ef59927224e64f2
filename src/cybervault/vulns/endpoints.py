"""CVE lookups: `GET /v1/cves/{cve_id}` and `GET /v1/cves` (any valid key; rk keys need cves:read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import db_session
from cybervault.kit.errors import InvalidRequest
from cybervault.vulns import service

router = APIRouter(tags=["cves"])


@router.get("/v1/cves/{cve_id}", summary="Retrieve a CVE")
async def retrieve_cve(cve_id: str, principal: Principal = Depends(require("cves:read")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await service.render_one(session, principal, cve_id)


@router.get("/v1/cves", summary="List or match CVEs")
async def list_cves(
    request: Request,
    product: str | None = Query(None, max_length=200, description="Product name (banner, nmap or NVD name)"),
    version: str | None = Query(None, max_length=200, description="Version to match exactly per NVD ranges"),
    cpe: str | None = Query(None, max_length=1024, description="CPE 2.3 name or 2.2 URI"),
    kev: bool | None = Query(None, description="Only CVEs in (true) or not in (false) CISA KEV"),
    min_cvss: float | None = Query(None, description="Minimum CVSS base score, 0 to 10"),
    limit: int = Query(10, description="Number of objects to return, 1 to 100."),
    starting_after: str | None = Query(None, description="CVE id: return CVEs listed after it."),
    ending_before: str | None = Query(None, description="CVE id: return CVEs listed before it."),
    principal: Principal = Depends(require("cves:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise InvalidRequest("'limit' must be between 1 and 100.", param="limit")
    if starting_after and ending_before:
        raise InvalidRequest("Use only one of 'starting_after' and 'ending_before'.", param="ending_before")
    if min_cvss is not None and not 0 <= min_cvss <= 10:
        raise InvalidRequest("'min_cvss' must be between 0 and 10.", param="min_cvss")
    query = service.CveQuery(product=product or None, version=version or None, cpe=cpe or None, kev=kev,
                             min_cvss=min_cvss, limit=limit, starting_after=starting_after,
                             ending_before=ending_before)
    return await service.list_cves(session, principal, query, url=request.url.path)
