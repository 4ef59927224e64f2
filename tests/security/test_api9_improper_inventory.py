"""API9 Improper Inventory Management: the served OpenAPI document lists exactly the routes that
answer, the shipped openapi.json matches it, every operation is authenticated and documents its
errors, and nothing undocumented (old versions, stray methods) answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from cybervault.kit.gateway import _flat_routes
from tests.helpers import OrgKeys

ROOT = Path(__file__).resolve().parents[2]
# Served by the app but deliberately not API operations (the spec itself and its viewer).
NOT_OPERATIONS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def served_operations(app: Any) -> set[tuple[str, str]]:
    ops = set()
    for route in _flat_routes(app.router.routes):
        path = getattr(route, "path", "")
        if not path or path in NOT_OPERATIONS or path.startswith("/docs/assets") or \
                not getattr(route, "include_in_schema", True):
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                ops.add((method, path))
    return ops


def spec_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m != "parameters"}


async def test_served_spec_lists_exactly_the_routes(app: Any, client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert served_operations(app) == spec_operations(spec)


async def test_shipped_openapi_file_matches_the_served_spec(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    shipped = json.loads((ROOT / "openapi.json").read_text())
    assert spec_operations(shipped) == spec_operations(served), "openapi.json is stale: run `make openapi`"


async def test_every_v1_operation_requires_the_bearer_key_and_documents_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not path.startswith("/v1"):
                continue
            assert op.get("security") == [{"bearerAuth": []}], f"{method} {path}"
            assert {"401", "403", "429", "500"} <= set(op["responses"]), f"{method} {path}"


async def test_every_documented_v1_operation_is_guarded(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, item in spec["paths"].items():
        if not path.startswith("/v1"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "x_1", path)
        for method in item:
            response = await client.request(method.upper(), concrete)
            assert response.status_code == 401, f"{method} {path} answered without a key"


async def test_published_reference_route_exists(org: OrgKeys) -> None:
    # The published reference sits in shared/ beside the checkout (present in CI and for developers).
    reference = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_26491b27e95effe3.txt"
    if reference.exists():
        assert "/v1/threats/scan?" in reference.read_text()
    response = await org.test.get("/v1/threats/scan", params={"target_ip": "192.0.2.0/30", "depth": "quick"})
    assert response.status_code == 200, response.text
    assert response.json()["scan_id"].startswith("sc_")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v0/incidents"), ("GET", "/v2/incidents"), ("GET", "/api/v1/incidents"), ("GET", "/v1/internal"),
    ("GET", "/v1/admin/orgs"), ("GET", "/v1/orgs"), ("PUT", "/v1/incidents"), ("DELETE", "/v1/incidents"),
    ("GET", "/v1/incidents/"), ("TRACE", "/v1/incidents"),
])
async def test_undocumented_routes_do_not_answer(org: OrgKeys, method: str, path: str) -> None:
    response = await org.live.request(method, path)
    assert response.status_code in (404, 405), (method, path, response.status_code)
    assert response.json()["error"]["code"] in ("resource_not_found", "method_not_allowed")


async def test_trailing_slash_is_not_redirected_to_the_callers_host(org: OrgKeys) -> None:
    # Regression: Starlette's slash redirect answered 307 with Location built from the Host header.
    response = await org.live.get("/v1/incidents/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers
