"""API2 Broken Authentication: every bad key gets the same 401, keys never travel in URLs, failed
guesses are limited per address, and the lookup costs the same whatever the guess."""

from __future__ import annotations

import datetime as dt
import statistics
import time

import httpx
import pytest

from cybervault.config import Settings
from cybervault.keys.secrets import checksum, generate_key
from tests.conftest import base_settings
from tests.helpers import OrgKeys


def _wrong_checksum(key: str) -> str:
    head = key[:-6]
    return head + ("A" if checksum(head)[0] != "A" else "B") + checksum(head)[1:]


def _body(response: httpx.Response) -> dict:
    error = dict(response.json()["error"])
    error.pop("request_id", None)
    return error


async def _revoked_key(org: OrgKeys) -> str:
    created = (await org.live.post("/v1/api_keys", json={"name": "to revoke"})).json()
    assert (await org.live.post(f"/v1/api_keys/{created['id']}/revoke")).status_code == 200
    return created["secret"]


async def test_every_kind_of_bad_key_gets_the_identical_401(org: OrgKeys, client: httpx.AsyncClient) -> None:
    expiring = await org.make_key(expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    revoked = await _revoked_key(org)
    candidates = {
        "missing": None,
        "empty": "",
        "basic scheme": f"Basic {org.live_key}",
        "no scheme": org.live_key,
        "malformed": "Bearer not-a-key",
        "truncated": f"Bearer {org.live_key[:-3]}",
        "wrong checksum": f"Bearer {_wrong_checksum(org.live_key)}",
        "well formed unknown": f"Bearer {generate_key(True, 'sk')}",
        "overlong": f"Bearer {org.live_key}{'x' * 5000}",
        "revoked": f"Bearer {revoked}",
        "sql-ish": "Bearer cv_live_sk_' OR '1'='1",
    }
    # Wait out the expiring key's lifetime by polling, not sleeping blindly.
    deadline = time.monotonic() + 10
    while (await client.get("/v1/incidents", headers={"Authorization": f"Bearer {expiring}"})).status_code != 401:
        assert time.monotonic() < deadline, "expired key still accepted"
    candidates["expired"] = f"Bearer {expiring}"
    reference = None
    for name, header in candidates.items():
        headers = {} if header is None else {"Authorization": header}
        response = await client.get("/v1/incidents", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith("application/json")
        body = _body(response)
        assert body["code"] == "invalid_api_key", name
        reference = reference or body
        assert body == reference, f"{name}: a different 401 tells an attacker which check failed"
        assert org.live_key[10:] not in response.text


@pytest.mark.parametrize("query", ["api_key={key}", "key={key}", "token={key}&limit=1", "api_key=whatever"])
async def test_keys_in_the_query_string_are_refused(org: OrgKeys, query: str) -> None:
    response = await org.live.get("/v1/incidents?" + query.format(key=org.live_key))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "api_key"
    assert org.live_key not in response.text


async def test_revoked_key_stops_working_immediately(org: OrgKeys) -> None:
    revoked = await _revoked_key(org)
    async with org.client_for(revoked) as client:
        assert (await client.get("/v1/incidents")).status_code == 401


async def test_guessing_is_limited_per_address(backend: dict) -> None:
    from cybervault.app import create_app

    if backend["name"] != "sqlite":
        pytest.skip("one backend is enough for the in-memory limiter")
    settings: Settings = base_settings(database_url=backend["database_url"], auth_failure_limit_per_minute=5)
    app = create_app(settings, migrate=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            statuses = [(await client.get("/v1/incidents", headers={
                "Authorization": f"Bearer {generate_key(True, 'sk')}"})).status_code for _ in range(8)]
            assert statuses[:5] == [401] * 5
            assert statuses[5:] == [429] * 3
            last = await client.get("/v1/incidents", headers={"Authorization": "Bearer x"})
            assert int(last.headers["retry-after"]) >= 1


async def test_lookup_time_does_not_depend_on_the_guess(org: OrgKeys, client: httpx.AsyncClient) -> None:
    """A guess that shares all but the last characters with a real key costs the same as a random one."""
    near = org.live_key[:-7] + ("a" if org.live_key[-7] != "a" else "b")
    near = near + checksum(near)
    guesses = {"near": near, "random": generate_key(True, "sk"), "malformed": "cv_live_sk_short"}
    timings: dict[str, list[float]] = {name: [] for name in guesses}
    for _ in range(3):  # warm up
        for guess in guesses.values():
            await client.get("/v1/incidents", headers={"Authorization": f"Bearer {guess}"})
    for _ in range(25):
        for name, guess in guesses.items():  # interleaved, so machine load affects all alike
            started = time.perf_counter()
            response = await client.get("/v1/incidents", headers={"Authorization": f"Bearer {guess}"})
            timings[name].append(time.perf_counter() - started)
            assert response.status_code == 401
    medians = {name: statistics.median(values) for name, values in timings.items()}
    fastest, slowest = min(medians.values()), max(medians.values())
    # Same work for each (one HMAC + one indexed lookup); allow noise on a shared machine.
    assert slowest - fastest < max(0.004, fastest * 0.6), medians
