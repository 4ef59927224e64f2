"""Reads of the audit log, scoped to the caller's org and mode. There are no write methods here:
rows are only ever added by the gateway (audit/service.py)."""

from __future__ import annotations

from typing import Any

from cybervault.audit.models import AuditLog
from cybervault.audit.service import render_audit_log
from cybervault.kit.pagination import PageParams
from cybervault.kit.repository import TenantRepository


class AuditLogRepository(TenantRepository[AuditLog]):
    model = AuditLog
    noun = "audit_log"

    async def search(self, params: PageParams, *, action: str | None, object_id: str | None) -> dict[str, Any]:
        stmt = self.select()
        if action:
            stmt = stmt.where(AuditLog.action == action)
        if object_id:
            stmt = stmt.where(AuditLog.object_id == object_id)
        return await self.page(params, render_audit_log, stmt)
