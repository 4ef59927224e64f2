"""The public surface: pinned exports, identical sync and async resources, generated code up to date."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import cybervault_sdk

SDK_ROOT = Path(__file__).resolve().parents[1]

# Changing this list is a change to the SDK's public API: bump the version and note it in the README.
PINNED_EXPORTS = [
    "APIConnectionError", "APIError", "APITimeoutError", "ApiKey", "Asset", "AsyncClient", "AsyncPage",
    "AsyncPager", "Attestation", "AuditLog", "AuthenticationError", "Client", "ComplianceControl",
    "ComplianceFramework", "CompliancePosture", "ConflictError", "Cve", "CyberVaultError", "CyberVaultObject",
    "DeletedObject", "Event", "Finding", "Incident", "IncidentComment", "InvalidRequestError", "NotFoundError",
    "NotificationChannel", "Page", "PermissionDeniedError", "PostureSnapshot", "RateLimitError", "Scan",
    "ScanSchedule", "ScanTimeoutError", "TimelineEntry", "TriageRule", "WebhookDelivery", "WebhookEndpoint",
    "WebhookSecret", "WebhookVerificationError", "__version__", "webhooks",
]

RESOURCES = {
    "threats": ["scan"],
    "scans": ["create", "retrieve", "list", "cancel", "wait"],
    "findings": ["list", "retrieve", "update"],
    "scan_schedules": ["create", "retrieve", "list", "delete"],
    "assets": ["create", "retrieve", "list", "update", "delete"],
    "cves": ["retrieve", "search", "list"],
    "incidents": ["create", "retrieve", "list", "update", "comment", "timeline"],
    "notification_channels": ["create", "retrieve", "list", "update", "delete", "test"],
    "triage_rules": ["create", "retrieve", "list", "update", "delete"],
    "compliance": ["posture", "frameworks", "controls", "history", "export"],
    "webhook_endpoints": ["create", "retrieve", "list", "update", "delete", "secret", "rotate_secret", "test",
                          "deliveries"],
    "webhook_deliveries": ["retrieve", "retry"],
    "events": ["retrieve", "list"],
    "api_keys": ["create", "retrieve", "list", "revoke", "roll"],
    "audit_logs": ["retrieve", "list"],
}


def test_public_exports_are_pinned() -> None:
    assert sorted(cybervault_sdk.__all__) == sorted(PINNED_EXPORTS)
    for name in PINNED_EXPORTS:
        assert hasattr(cybervault_sdk, name), name


def test_error_hierarchy() -> None:
    for name in ("AuthenticationError", "PermissionDeniedError", "NotFoundError", "InvalidRequestError",
                 "ConflictError", "RateLimitError", "APIError", "APIConnectionError", "WebhookVerificationError"):
        assert issubclass(getattr(cybervault_sdk, name), cybervault_sdk.CyberVaultError)
    error = cybervault_sdk.InvalidRequestError("bad", code="invalid_request", param="limit", http_status=400,
                                               request_id="req_1", documentation_url="http://x/docs/errors/x")
    assert (error.code, error.message, error.param, error.http_status, error.request_id) == (
        "invalid_request", "bad", "limit", 400, "req_1")
    assert "param=limit" in str(error)


def test_sync_and_async_clients_expose_the_same_resources() -> None:
    sync = cybervault_sdk.Client(api_key="cv_test_sk_x")
    asyn = cybervault_sdk.AsyncClient(api_key="cv_test_sk_x")
    for resource, methods in RESOURCES.items():
        for method in methods:
            s, a = getattr(getattr(sync, resource), method), getattr(getattr(asyn, resource), method)
            assert inspect.signature(s).parameters.keys() == inspect.signature(a).parameters.keys(), (resource, method)
    assert [m for m in dir(asyn.compliance.attestations) if not m.startswith("_")] == \
        [m for m in dir(sync.compliance.attestations) if not m.startswith("_")]
    sync.close()


def test_generated_sync_resources_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(SDK_ROOT / "scripts" / "unasync.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_typed_package_with_httpx_as_its_only_dependency() -> None:
    assert (Path(cybervault_sdk.__file__).parent / "py.typed").exists()
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((SDK_ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "cybervault-sdk"
    assert [d.split(">")[0].split("<")[0].split("=")[0] for d in project["dependencies"]] == ["httpx"]
    assert project["version"] == cybervault_sdk.__version__


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CYBERVAULT_API_KEY", "cv_test_sk_fromenv")
    monkeypatch.setenv("CYBERVAULT_BASE_URL", "http://127.0.0.1:9999/")
    client = cybervault_sdk.Client()
    assert client.options.api_key == "cv_test_sk_fromenv"
    assert "cv_test_sk_fromenv" not in repr(client.options)
    assert client.options.base_url == "http://127.0.0.1:9999"
    client.close()
    monkeypatch.delenv("CYBERVAULT_API_KEY")
    with pytest.raises(cybervault_sdk.CyberVaultError) as caught:
        cybervault_sdk.Client()
    assert caught.value.code == "missing_api_key" and "CYBERVAULT_API_KEY" in caught.value.message


def test_object_ids_cannot_change_the_request_path() -> None:
    client = cybervault_sdk.Client(api_key="cv_test_sk_x")
    for bad in ("../api_keys", "a/b", "x?limit=1", ""):
        with pytest.raises(ValueError):
            client.assets.retrieve(bad)
    client.close()


def test_models_keep_unknown_fields() -> None:
    asset = cybervault_sdk.Asset.from_dict({"id": "ast_1", "object": "asset", "target": "203.0.113.1",
                                            "brand_new_field": {"x": 1}})
    assert asset.target == "203.0.113.1" and asset.brand_new_field == {"x": 1} and asset["brand_new_field"]["x"] == 1
    assert asset.to_dict()["brand_new_field"] == {"x": 1}
    with pytest.raises(AttributeError):
        _ = asset.not_there
