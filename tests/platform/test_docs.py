"""Served documentation: one page per error code, /docs without a CDN, and the committed OpenAPI file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from cybervault.kit.errors import all_error_classes, all_error_codes
from cybervault.platform.error_docs import PAGES_DIR
from cybervault.platform.openapi import render

ROOT = Path(__file__).resolve().parents[2]


def test_every_error_class_has_a_page() -> None:
    missing = sorted({cls.code for cls in all_error_classes()} - {p.stem for p in PAGES_DIR.glob("*.md")})
    assert not missing, f"write src/cybervault/platform/errors/<code>.md for: {missing}"
    index = (ROOT / "docs" / "errors.md").read_text()
    assert all(f"`{code}`" in index for code in all_error_codes()), "docs/errors.md must list every code"


@pytest.mark.parametrize("code", all_error_codes())
async def test_error_page_is_served(client: httpx.AsyncClient, code: str) -> None:
    response = await client.get(f"/docs/errors/{code}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert code in text
    for section in ("What happened", "Why", "How to fix it", "Example"):
        assert f"<h2>{section}</h2>" in text, section
    example = re.search(r"<pre>(.*?)</pre>", text, re.S)
    assert example is not None and f"&quot;code&quot;: &quot;{code}&quot;" in example.group(1)


async def test_documentation_url_of_an_error_resolves(client: httpx.AsyncClient) -> None:
    error = (await client.get("/v1/api_keys")).json()["error"]
    path = error["documentation_url"].removeprefix("http://testserver")
    assert (await client.get(path)).status_code == 200
    unknown = await client.get("/docs/errors/not_a_code")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "resource_not_found"


async def test_docs_page_and_assets_are_local(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert srcs and all(s.startswith("/") for s in srcs), f"no CDN allowed: {srcs}"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    js = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "SwaggerUIBundle" in js.text[:2000] and "isOAS31" in js.text  # renders OpenAPI 3.1
    css = await client.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")


def test_committed_openapi_matches_the_app(app: Any) -> None:
    committed = ROOT / "openapi.json"
    current = render(app.openapi())
    assert committed.exists(), "openapi.json is missing: run `make openapi`"
    assert json.loads(committed.read_text()) == json.loads(current), (
        "openapi.json is stale: run `make openapi` and commit the result")


def test_every_operation_is_documented(app: Any) -> None:
    spec = app.openapi()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearerAuth"][
            "description"]}
    ids: list[str] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ids.append(op["operationId"])
            assert re.fullmatch(r"[a-z_]+", op["operationId"]), op["operationId"]
            for status in ("400", "401", "404", "429", "500"):
                assert status in op["responses"], f"{method} {path} lacks {status}"
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
            if path.startswith("/v1/"):
                assert op["security"] == [{"bearerAuth": []}], path
    assert len(ids) == len(set(ids)), "operation ids must be unique"
