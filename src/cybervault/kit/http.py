"""The error object and the response helpers every layer shares."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from starlette.responses import Response

from cybervault.kit.errors import CyberVaultError

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "interest-cohort=()",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def new_request_id() -> str:
    return f"req_{secrets.token_hex(8)}"


def accept_request_id(value: str | None) -> str:
    if value and REQUEST_ID_PATTERN.match(value):
        return value
    return new_request_id()


def error_body(error: CyberVaultError, *, request_id: str, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": error.code,
        "message": error.message,
        "documentation_url": f"{base_url}/docs/errors/{error.code}",
    }
    if error.param:
        body["param"] = error.param
    body.update(error.extra)
    body["request_id"] = request_id
    return {"error": body}


def error_response(error: CyberVaultError, *, request_id: str, base_url: str,
                   headers: dict[str, str] | None = None) -> Response:
    merged = {**error.headers, **(headers or {})}
    return Response(
        content=json.dumps(error_body(error, request_id=request_id, base_url=base_url)),
        status_code=error.status_code,
        media_type="application/json",
        headers=merged,
    )
