"""Rate limits: headers on every response, the per-org limit with Retry-After, and the per-IP limit on
failed authentication."""

from __future__ import annotations

import time
from typing import Any

import httpx

from cybervault.config import Settings
from tests.helpers import make_org
from tests.platform.conftest import client_of, extra_app

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def _assert_rate_headers(response: httpx.Response, limit: int | None = None) -> None:
    for name in RATE_HEADERS:
        assert name in response.headers, f"{name} missing on {response.status_code}"
    reset = int(response.headers["x-ratelimit-reset"])
    assert time.time() - 1 <= reset <= time.time() + 61, "reset is unix seconds within the window"
    if limit is not None:
        assert response.headers["x-ratelimit-limit"] == str(limit)


async def test_per_org_limit_headers_and_429(app: Any) -> None:
    org = await make_org(app, "Small limit", rate_limit=5)
    try:
        ok = [await org.live.get("/v1/api_keys") for _ in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        _assert_rate_headers(ok[0], 5)
        assert [int(r.headers["x-ratelimit-remaining"]) for r in ok] == [4, 3, 2]
        missing = await org.live.get("/v1/api_keys/key_000000000000000000000000")
        assert missing.status_code == 404
        _assert_rate_headers(missing, 5)
        unknown_route = await org.live.get("/v1/nope")
        assert unknown_route.status_code == 404
        assert unknown_route.headers["x-ratelimit-remaining"] == "0"
        limited = await org.live.get("/v1/api_keys")
        assert limited.status_code == 429
        _assert_rate_headers(limited, 5)
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        error = limited.json()["error"]
        assert error["code"] == "rate_limit_exceeded" and error["request_id"] == limited.headers["x-request-id"]
        # The limit is per key: the org's test key has its own budget.
        assert (await org.test.get("/v1/api_keys")).status_code == 200
    finally:
        await org.live.aclose()
        await org.test.aclose()


async def test_401_carries_rate_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/api_keys", headers={"Authorization": "Bearer cv_test_sk_nope"})
    assert response.status_code == 401
    _assert_rate_headers(response)


async def test_failed_auth_is_limited_per_client_ip(settings: Settings, app: Any) -> None:
    async with extra_app(settings, auth_failure_limit_per_minute=3) as limited_app:
        org = await make_org(limited_app, "Auth limit")
        async with client_of(limited_app, "cv_live_sk_guess000000000000000000000000") as guesser:
            statuses = [(await guesser.get("/v1/api_keys")).status_code for _ in range(4)]
            assert statuses == [401, 401, 401, 429]
            blocked = await guesser.get("/v1/api_keys")
            assert blocked.json()["error"]["code"] == "rate_limit_exceeded"
            assert int(blocked.headers["retry-after"]) >= 1
            _assert_rate_headers(blocked, 3)
        # A valid key from the same address still works: only failures are counted.
        async with client_of(limited_app, org.live_key) as valid:
            assert (await valid.get("/v1/api_keys")).status_code == 200
        await org.live.aclose()
        await org.test.aclose()
