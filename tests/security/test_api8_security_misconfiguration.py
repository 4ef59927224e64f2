"""API8 Security Misconfiguration: security headers everywhere, no debug pages, crashes and bad input
never show internals, CORS closed unless configured, and production refuses placeholder secrets."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from cybervault.config import Settings
from tests.helpers import OrgKeys

INTERNALS = re.compile(r"Traceback|File \"|\.py\b|sqlalchemy|asyncpg|sqlite|psycopg|Exception|line \d+|/src/",
                       re.IGNORECASE)


async def test_security_headers_on_every_kind_of_response(org: OrgKeys, client: httpx.AsyncClient) -> None:
    responses = [
        await org.live.get("/v1/incidents"),
        await org.live.get("/v1/incidents/inc_00000000000000000000000000"),
        await client.get("/v1/incidents"),
        await org.live.post("/v1/incidents", content=b"{", headers={"Content-Type": "application/json"}),
        await client.get("/healthz"),
        await client.get("/openapi.json"),
        await client.get("/nope"),
    ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-request-id"]
    for response in responses[:4]:
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/debug", "/admin", "/.env", "/console", "/_debug_toolbar",
                                  "/v1/../../etc/passwd", "/server-status", "/metrics/../.git/config"])
async def test_no_debug_or_admin_pages(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    if path == "/docs":  # the offline Swagger UI is documentation, not a debug console
        assert response.status_code in (200, 404)
        return
    assert response.status_code in (401, 404), path
    assert not INTERNALS.search(response.text)


async def test_crash_is_a_bare_500_without_internals(org: OrgKeys, monkeypatch: pytest.MonkeyPatch) -> None:
    from cybervault.incidents.repository import IncidentRepository

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail /srv/app/db.py line 42")

    monkeypatch.setattr(IncidentRepository, "list", explode, raising=True)
    response = await org.live.get("/v1/incidents")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and error["request_id"] == response.headers["x-request-id"]
    assert "secret internal detail" not in response.text and not INTERNALS.search(response.text)


@pytest.mark.parametrize("payload", [b"{", b"\xff\xfe", b'{"title": NaN}', b"[1,2", b'"\\ud800"', b"null"])
async def test_malformed_bodies_are_400_without_internals(org: OrgKeys, payload: bytes) -> None:
    response = await org.live.post("/v1/incidents", content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert not INTERNALS.search(response.text)


async def test_wrong_method_and_content_type(org: OrgKeys) -> None:
    response = await org.live.put("/v1/incidents")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    response = await org.live.post("/v1/incidents", content=b"title=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


async def test_cors_closed_by_default(org: OrgKeys) -> None:
    response = await org.live.options("/v1/incidents", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in response.headers
    response = await org.live.get("/v1/incidents", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_only_configured_origins(make_app: Any) -> None:
    app = await make_app(cors_origins=["https://console.example"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        good = await client.options("/v1/incidents", headers={
            "Origin": "https://console.example", "Access-Control-Request-Method": "GET"})
        assert good.headers.get("access-control-allow-origin") == "https://console.example"
        assert good.headers.get("access-control-allow-credentials") != "true"
        bad = await client.options("/v1/incidents", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in bad.headers


@pytest.mark.parametrize("secret", ["change-me", "dev-secret-change-me", "short"])
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValueError, match="CYBERVAULT_SECRET_KEY"):
        Settings(env="production", secret_key=secret, encryption_key="e" * 40)


async def test_hsts_when_served_over_https(make_app: Any) -> None:
    app = await make_app(public_base_url="https://vault.example")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
