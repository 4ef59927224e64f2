"""The audit log: one append-only row per mutating API request."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Scope

from cybervault.audit.models import AuditLog
from cybervault.kit.auth import Principal
from cybervault.kit.db import Database, utcnow
from cybervault.kit.ids import new_id


def action_name(scope: Scope) -> str:
    """`<domain>.<endpoint function>`, e.g. `incidents.create_incident`; stable across releases."""
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return f"{scope['method'].lower()} {scope['path']}"
    module = getattr(endpoint, "__module__", "").split(".")
    domain = module[-2] if len(module) >= 2 else module[0]
    return f"{domain}.{endpoint.__name__}"


def _object_id(scope: Scope, body: bytes) -> str | None:
    try:
        data: Any = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        candidate = data.get("id") or data.get("scan_id")
        if isinstance(candidate, str):
            return candidate[:64]
    params = scope.get("path_params") or {}
    for value in params.values():
        if isinstance(value, str) and "_" in value:
            return value[:64]
    return None


async def write_audit_entry(db: Database, scope: Scope, principal: Principal, status: int, body: bytes,
                            request_id: str, client_ip: str) -> None:
    entry = AuditLog(
        id=new_id("audit"), org_id=principal.org_id, livemode=principal.livemode, key_id=principal.key_id,
        action=action_name(scope), method=scope["method"], path=scope["path"][:500],
        object_id=_object_id(scope, body), status_code=status, client_ip=client_ip[:64],
        request_id=request_id, created_at=utcnow(),
    )
    async with db.session() as session, session.begin():
        session.add(entry)


def render_audit_log(entry: AuditLog) -> dict[str, Any]:
    from cybervault.kit.time import iso

    return {
        "id": entry.id, "object": "audit_log", "livemode": entry.livemode, "action": entry.action,
        "method": entry.method, "path": entry.path, "object_id": entry.object_id, "key_id": entry.key_id,
        "status_code": entry.status_code, "client_ip": entry.client_ip, "request_id": entry.request_id,
        "created": iso(entry.created_at),
    }
