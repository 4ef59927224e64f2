"""The gateway's contract: the seed's error body, rate-limit headers, request ids, route errors."""

from __future__ import annotations

import httpx

from tests.helpers import OrgKeys

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


async def test_bogus_key_gets_the_published_error_body(client: httpx.AsyncClient) -> None:
    seed_key = "cv_live_sk_8xK9mP2qL5vN7wR3yT1zJ4"  # the published example key
    response = await client.get("/v1/threats/scans", headers={"Authorization": f"Bearer {seed_key}"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["message"] == "The provided API key is expired or invalid."
    assert error["documentation_url"] == "http://testserver/docs/errors/invalid_api_key"
    assert error["request_id"] == response.headers["x-request-id"]
    assert all(h in response.headers for h in RATE_HEADERS)


async def test_missing_header_and_wrong_scheme_are_401(client: httpx.AsyncClient, org: OrgKeys) -> None:
    assert (await client.get("/v1/events")).status_code == 401
    basic = await client.get("/v1/events", headers={"Authorization": f"Basic {org.live_key}"})
    assert basic.status_code == 401


async def test_key_in_query_string_is_refused(client: httpx.AsyncClient, org: OrgKeys) -> None:
    response = await client.get(f"/v1/events?api_key={org.live_key}")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "api_key"


async def test_unknown_route_is_404_error_object_with_rate_headers(org: OrgKeys) -> None:
    response = await org.live.get("/v1/no_such_thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_not_found"
    assert all(h in response.headers for h in RATE_HEADERS)
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_request_id_is_echoed_when_well_formed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "client-req-12345"})
    assert response.headers["x-request-id"] == "client-req-12345"
    bad = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert bad.headers["x-request-id"].startswith("req_")


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
