"""The OpenAPI 3.1 document: FastAPI's generated spec plus the bearer security scheme and a fixed server.

The document must not depend on the running server's settings, so the committed `openapi.json` and
`app.openapi()` agree on every machine; the server entry is the default local address.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

SPEC_SERVER = {"url": "http://127.0.0.1:8000",
               "description": "Local server (`make run`); use your deployment's public base URL"}
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key: `Authorization: Bearer cv_live_sk_…` or `cv_test_…`. Keys in the URL are refused.",
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version,
        description=app.description, routes=app.routes, servers=[SPEC_SERVER],
    )
    spec.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = SECURITY_SCHEME
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                _errors_are_json(operation)
                # Only /v1 is behind the gateway's authentication; health, metrics and docs are open.
                operation["security"] = [{"bearerAuth": []}] if path.startswith("/v1/") else []
    return spec


def _errors_are_json(operation: dict[str, Any]) -> None:
    """Error bodies are always JSON, even on routes whose success response is HTML or text."""
    for status, response in operation.get("responses", {}).items():
        content = response.get("content") or {}
        if status[:1] in "45" and "application/json" not in content:
            schema = next((c.get("schema") for c in content.values() if c.get("schema")), None)
            if schema is not None:
                response["content"] = {"application/json": {"schema": schema}}


def install_openapi(app: FastAPI) -> None:
    """Replace app.openapi with build_openapi (cached like FastAPI's own)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render(spec: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, trailing newline, so diffs are stable."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
