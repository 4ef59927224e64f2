"""Request guards in the gateway: body size, content type, nesting, unknown fields, scopes, settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from cybervault.config import Settings
from tests.helpers import OrgKeys

CLI = Path(sys.executable).with_name("cybervault")


async def test_body_over_one_mib_is_413(org: OrgKeys) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    declared = await org.live.post("/v1/api_keys", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the gateway counts as it reads
        for _ in range(20):
            yield b"x" * 65536

    streamed = await org.live.post("/v1/api_keys", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


async def test_non_json_body_is_415(org: OrgKeys) -> None:
    response = await org.live.post("/v1/api_keys", content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_invalid_json_is_400(org: OrgKeys) -> None:
    response = await org.live.post("/v1/api_keys", content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("depth", [65, 5000, 200_000])
async def test_deeply_nested_json_is_400_not_500(org: OrgKeys, depth: int) -> None:
    body = b'{"name": ' + b"[" * depth + b"]" * depth + b"}"
    response = await org.live.post("/v1/api_keys", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "nested" in response.json()["error"]["message"]


async def test_nesting_within_limit_reaches_validation(org: OrgKeys) -> None:
    body = b'{"scopes": ' + b"[" * 60 + b"]" * 60 + b', "x": "' + b"[" * 70 + b'"}'
    response = await org.live.post("/v1/api_keys", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nested" not in response.json()["error"]["message"]  # brackets inside strings do not count


async def test_restricted_key_gets_403_naming_the_scope(org: OrgKeys) -> None:
    key = await org.make_key(kind="rk", scopes=["scans:read"])
    async with org.client_for(key) as client:
        response = await client.get("/v1/audit_logs")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "insufficient_permissions"
    assert "audit_logs:read" in error["message"] and error["missing_scope"] == "audit_logs:read"


async def test_write_scope_implies_read(org: OrgKeys) -> None:
    key = await org.make_key(kind="rk", scopes=["keys:write"])
    async with org.client_for(key) as client:
        assert (await client.get("/v1/api_keys")).status_code == 200


async def test_crash_is_500_without_internals(org: OrgKeys, app: object) -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/v1/__crash_for_test")
    async def crash() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    app.router.routes.extend(router.routes)  # type: ignore[attr-defined]
    try:
        response = await org.live.get("/v1/__crash_for_test")
    finally:
        app.router.routes[:] = [r for r in app.router.routes  # type: ignore[attr-defined]
                                if getattr(r, "path", "") != "/v1/__crash_for_test"]
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "passwd" not in response.text and "RuntimeError" not in response.text


def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CYBERVAULT_"):
            monkeypatch.delenv(name)
    with pytest.raises(ValidationError, match="CYBERVAULT_SECRET_KEY"):
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="CYBERVAULT_ENCRYPTION_KEY"):
        Settings(_env_file=None, env="production", secret_key="k" * 40)  # type: ignore[call-arg]
    ok = Settings(_env_file=None, env="production", secret_key="k" * 40, encryption_key="e" * 40)  # type: ignore[call-arg]
    assert ok.env == "production"


@pytest.mark.parametrize(("name", "value"), [("CYBERVAULT_DATABASE_URL", "foo"), ("CYBERVAULT_ENV", "staging"),
                                             ("CYBERVAULT_SECRET_KEY", "change-me")])
def test_bad_setting_stops_serve_with_one_line(tmp_path: Path, name: str, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CYBERVAULT_")}
    env[name] = value
    if name == "CYBERVAULT_SECRET_KEY":
        env["CYBERVAULT_ENV"] = "production"
    result = subprocess.run([str(CLI), "serve", "--no-migrate", "--port", "1"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and "Traceback" not in result.stderr


async def test_security_headers_and_no_cors_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in response.headers
    api = await client.get("/v1/api_keys")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
