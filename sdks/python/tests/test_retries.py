"""Retries against a real local HTTP server that injects 429, 503, 409 and dropped connections."""

from __future__ import annotations

import time
import uuid

import pytest

import cybervault_sdk
from cybervault_sdk import AsyncClient, Client

from .flaky_server import Action, FlakyServer

OK_ASSET = {"id": "ast_1", "object": "asset", "livemode": False, "target": "198.51.100.9", "name": "flaky"}


def _path() -> str:
    return f"/v1/assets/{uuid.uuid4().hex}"  # a path per test so scripts never collide


def _client(flaky: FlakyServer, **kwargs: object) -> Client:
    return Client(api_key="cv_test_sk_flakyflakyflakyflakyflaky", base_url=flaky.url, **kwargs)  # type: ignore[arg-type]


def test_post_retries_429_then_503_then_succeeds_with_one_idempotency_key(flaky: FlakyServer) -> None:
    before = len(flaky.app.requests("POST", "/v1/assets"))  # another test may use this route too
    flaky.app.script("POST", "/v1/assets",
                     Action.error(429, "rate_limit_exceeded", headers={"Retry-After": "1"}),
                     Action.error(503, "service_unavailable"),
                     Action(201, OK_ASSET))
    with _client(flaky, max_retries=2) as client:
        asset = client.assets.create("198.51.100.9", name="flaky")
    assert asset.id == "ast_1" and asset.name == "flaky"
    arrived = flaky.app.requests("POST", "/v1/assets")[before:]
    assert len(arrived) == 3
    keys = {r.idempotency_key for r in arrived}
    assert len(keys) == 1 and None not in keys, keys
    # Retry-After: 1 was honoured before the second attempt.
    assert arrived[1].at - arrived[0].at >= 0.95
    # The body is identical on every attempt, so the server can replay it.
    assert len({r.body for r in arrived}) == 1


def test_connection_drops_are_retried_with_the_same_idempotency_key(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("POST", f"{path}/revoke", Action(drop=True), Action(drop=True), Action(200, OK_ASSET))
    with _client(flaky, max_retries=2) as client:
        result = client.raw_request("POST", f"{path}/revoke")
    assert result.status_code == 200
    arrived = flaky.app.requests("POST", f"{path}/revoke")
    assert len(arrived) == 3
    assert len({r.idempotency_key for r in arrived}) == 1 and arrived[0].idempotency_key


def test_a_caller_supplied_idempotency_key_is_sent_on_every_attempt(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("POST", path, Action.error(500, "internal_error"), Action(200, OK_ASSET))
    with _client(flaky, max_retries=1) as client:
        client.raw_request("POST", path, json={"a": 1}, idempotency_key="my-key-123")
    assert [r.idempotency_key for r in flaky.app.requests("POST", path)] == ["my-key-123", "my-key-123"]


def test_rate_limit_reset_is_honoured_when_retry_after_is_absent(flaky: FlakyServer) -> None:
    path = _path()
    reset = int(time.time()) + 2  # unix seconds: the wait is between 1 and 2 s
    flaky.app.script("GET", path, Action.error(429, "rate_limit_exceeded", headers={"X-RateLimit-Reset": str(reset)}),
                     Action(200, OK_ASSET))
    with _client(flaky) as client:
        client.raw_request("GET", path)
    first, second = flaky.app.requests("GET", path)
    assert second.at - first.at >= 0.9
    assert time.time() >= reset - 1.05


def test_server_hints_are_capped_by_max_retry_wait(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("GET", path, Action.error(429, "rate_limit_exceeded", headers={"Retry-After": "3600"}),
                     Action(200, OK_ASSET))
    started = time.monotonic()
    with _client(flaky, max_retry_wait=0.3) as client:
        client.raw_request("GET", path)
    assert time.monotonic() - started < 5
    first, second = flaky.app.requests("GET", path)
    assert second.at - first.at >= 0.25


def test_backoff_grows_exponentially_without_hints(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("GET", path, Action.error(503, "service_unavailable"), Action.error(502, "bad_gateway"),
                     Action(200, OK_ASSET))
    with _client(flaky, max_retries=2) as client:
        client.raw_request("GET", path)
    a, b, c = flaky.app.requests("GET", path)
    # 0.5 s then 1 s, each with jitter between 50 % and 100 %.
    assert 0.24 <= b.at - a.at <= 1.5
    assert 0.49 <= c.at - b.at <= 2.5
    assert a.idempotency_key is None  # only POSTs carry one


def test_exhausted_retries_raise_rate_limit_error_with_details(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("GET", path, Action.error(429, "rate_limit_exceeded", headers={"Retry-After": "0"},
                                               message="Too many requests."))
    with _client(flaky, max_retries=2) as client, pytest.raises(cybervault_sdk.RateLimitError) as caught:
        client.raw_request("GET", path)
    error = caught.value
    assert len(flaky.app.requests("GET", path)) == 3
    assert (error.code, error.http_status, error.message) == ("rate_limit_exceeded", 429, "Too many requests.")
    assert error.request_id == "req_flaky_429"
    assert error.documentation_url == "http://flaky/docs/errors/rate_limit_exceeded"
    assert error.retry_after == 0


@pytest.mark.parametrize(("status", "code", "error_class"), [
    (400, "invalid_request", cybervault_sdk.InvalidRequestError),
    (401, "invalid_api_key", cybervault_sdk.AuthenticationError),
    (403, "insufficient_permissions", cybervault_sdk.PermissionDeniedError),
    (404, "resource_not_found", cybervault_sdk.NotFoundError),
    (409, "scan_not_cancelable", cybervault_sdk.ConflictError),
])
def test_client_errors_are_never_retried(flaky: FlakyServer, status: int, code: str,
                                         error_class: type[cybervault_sdk.CyberVaultError]) -> None:
    path = _path()
    flaky.app.script("POST", path, Action.error(status, code))
    with _client(flaky, max_retries=3) as client, pytest.raises(error_class) as caught:
        client.raw_request("POST", path)
    assert caught.value.code == code and caught.value.http_status == status
    assert len(flaky.app.requests("POST", path)) == 1


def test_a_transient_409_is_retried(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("POST", path, Action.error(409, "idempotency_conflict", headers={"Retry-After": "0"}),
                     Action(201, OK_ASSET))
    with _client(flaky) as client:
        assert client.raw_request("POST", path).status_code == 201
    assert len(flaky.app.requests("POST", path)) == 2


def test_max_retries_zero_sends_once(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("GET", path, Action.error(503, "service_unavailable"))
    with _client(flaky, max_retries=0) as client, pytest.raises(cybervault_sdk.APIError) as caught:
        client.raw_request("GET", path)
    assert caught.value.http_status == 503
    assert len(flaky.app.requests("GET", path)) == 1


def test_the_scan_starting_get_is_not_resent_after_a_drop(flaky: FlakyServer) -> None:
    # GET /v1/threats/scan starts a scan: after the server got it, resending would start a second one.
    flaky.app.script("GET", "/v1/threats/scan", Action(drop=True),
                     Action(200, {"scan_id": "sc_x", "status": "completed"}))
    before = len(flaky.app.requests("GET", "/v1/threats/scan"))
    with _client(flaky, max_retries=3) as client, pytest.raises(cybervault_sdk.APIConnectionError):
        client.threats.scan("198.51.100.9")
    assert len(flaky.app.requests("GET", "/v1/threats/scan")) == before + 1


def test_unreachable_server_raises_api_connection_error() -> None:
    with Client(api_key="cv_test_sk_x", base_url="http://127.0.0.1:9", max_retries=1) as client:
        with pytest.raises(cybervault_sdk.APIConnectionError) as caught:
            client.assets.retrieve("ast_1")
    assert caught.value.http_status is None and "ConnectError" in caught.value.message


def test_threats_scan_polls_until_the_scan_finishes(flaky: FlakyServer) -> None:
    running = {"scan_id": "sc_poll", "id": "sc_poll", "object": "scan", "status": "running", "threats_found": 0,
               "findings": []}
    done = {**running, "status": "completed", "threats_found": 1,
            "findings": [{"type": "open_port", "severity": "medium", "details": "Port 22 open", "cve": None,
                          "port": 22, "extra_field_from_a_newer_server": 1}]}
    flaky.app.script("GET", "/v1/threats/scan", Action(202, running))
    flaky.app.script("GET", "/v1/threats/scans/sc_poll", Action(200, running), Action(200, done))
    with _client(flaky) as client:
        scan = client.threats.scan("198.51.100.9", depth="quick", include_vulns=False, poll_interval=0.05)
    assert scan.status == "completed" and scan.threats_found == 1
    assert isinstance(scan.findings[0], cybervault_sdk.Finding) and scan.findings[0].port == 22
    assert scan.findings[0].extra_field_from_a_newer_server == 1  # unknown fields are kept
    start = flaky.app.requests("GET", "/v1/threats/scan")[-1]
    assert {"target_ip=198.51.100.9", "depth=quick", "include_vulns=false"} <= set(start.query.split("&"))
    assert len(flaky.app.requests("GET", "/v1/threats/scans/sc_poll")) == 2


def test_threats_scan_gives_up_after_its_timeout(flaky: FlakyServer) -> None:
    running = {"scan_id": "sc_slow", "status": "running"}
    flaky.app.script("GET", "/v1/threats/scan", Action(202, running))
    flaky.app.script("GET", "/v1/threats/scans/sc_slow", Action(200, running))
    with _client(flaky) as client, pytest.raises(cybervault_sdk.ScanTimeoutError) as caught:
        client.threats.scan("198.51.100.9", timeout=0.3, poll_interval=0.05)
    assert caught.value.scan.status == "running" and caught.value.scan.scan_id == "sc_slow"


async def test_async_client_retries_with_the_same_idempotency_key(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("POST", path, Action.error(503, "service_unavailable", headers={"Retry-After": "0"}),
                     Action(drop=True), Action(201, OK_ASSET))
    async with AsyncClient(api_key="cv_test_sk_async", base_url=flaky.url, max_retries=2) as client:
        result = await client.raw_request("POST", path, json={"target": "198.51.100.9"})
    assert result.status_code == 201 and result.body == OK_ASSET
    arrived = flaky.app.requests("POST", path)
    assert len(arrived) == 3 and len({r.idempotency_key for r in arrived}) == 1


async def test_async_errors_are_typed(flaky: FlakyServer) -> None:
    path = _path()
    flaky.app.script("GET", path, Action.error(404, "resource_not_found"))
    async with AsyncClient(api_key="cv_test_sk_async", base_url=flaky.url) as client:
        with pytest.raises(cybervault_sdk.NotFoundError) as caught:
            await client.raw_request("GET", path)
    assert caught.value.request_id == "req_flaky_404"


async def test_async_threats_scan_polls_until_the_scan_finishes(flaky: FlakyServer) -> None:
    running = {"scan_id": "sc_apoll", "status": "queued"}
    done = {"scan_id": "sc_apoll", "status": "failed", "error": "host unreachable", "findings": []}
    flaky.app.script("GET", "/v1/threats/scan", Action(202, running))
    flaky.app.script("GET", "/v1/threats/scans/sc_apoll", Action(200, {**running, "status": "running"}),
                     Action(200, done))
    async with AsyncClient(api_key="cv_test_sk_async", base_url=flaky.url) as client:
        scan = await client.threats.scan("198.51.100.9", poll_interval=0.05)
    assert scan.status == "failed" and scan.error == "host unreachable" and scan.is_finished
