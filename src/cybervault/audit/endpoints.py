"""/v1/audit_logs: read-only. No route here (or anywhere) updates or deletes an entry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.audit.repository import AuditLogRepository
from cybervault.audit.service import render_audit_log
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import db_session
from cybervault.kit.pagination import PageParams, page_params

router = APIRouter(tags=["audit_logs"])


@router.get("/v1/audit_logs", summary="List audit log entries, newest first")
async def list_audit_logs(
    params: PageParams = Depends(page_params),
    action: str | None = Query(None, max_length=120,
                               description="Only entries for this action, e.g. `keys.create_api_key`."),
    object_id: str | None = Query(None, max_length=64, description="Only entries about this object id."),
    principal: Principal = Depends(require("audit_logs:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    return await AuditLogRepository(session, principal).search(params, action=action, object_id=object_id)


@router.get("/v1/audit_logs/{audit_log_id}", summary="Retrieve one audit log entry")
async def get_audit_log(audit_log_id: str = Path(..., max_length=64),
                        principal: Principal = Depends(require("audit_logs:read")),
                        session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return render_audit_log(await AuditLogRepository(session, principal).get(audit_log_id))
