"""/v1/api_keys and /v1/audit_logs: secrets shown once, revoke, roll with grace, scopes, the audit trail."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.helpers import OrgKeys
from tests.platform.conftest import flat_routes

FIELDS = {"id", "object", "livemode", "type", "name", "scopes", "redacted", "created", "expires_at",
          "revoked_at", "last_used_at"}


async def test_create_returns_secret_once_and_list_never_does(org: OrgKeys) -> None:
    created = await org.live.post("/v1/api_keys", json={"name": "ci", "type": "rk", "scopes": ["scans:read"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == FIELDS | {"secret"}
    assert body["secret"].startswith("cv_live_rk_") and body["livemode"] is True
    assert body["redacted"].endswith(body["secret"][-4:]) and body["secret"] not in body["redacted"]

    listed = await org.live.get("/v1/api_keys", params={"limit": 100})
    assert listed.status_code == 200
    assert all("secret" not in k and set(k) == FIELDS for k in listed.json()["data"])
    assert body["secret"] not in listed.text
    fetched = await org.live.get(f"/v1/api_keys/{body['id']}")
    assert fetched.json()["scopes"] == ["scans:read"] and "secret" not in fetched.json()

    async with org.client_for(body["secret"]) as new:
        assert (await new.get("/v1/audit_logs")).status_code == 403
        assert (await new.get("/v1/api_keys")).status_code == 403


async def test_mode_defaults_to_callers_and_cannot_cross(org: OrgKeys) -> None:
    test_key = await org.test.post("/v1/api_keys", json={})
    assert test_key.status_code == 201 and test_key.json()["secret"].startswith("cv_test_sk_")
    assert test_key.json()["livemode"] is False
    crossed = await org.test.post("/v1/api_keys", json={"mode": "live"})
    assert crossed.status_code == 400 and crossed.json()["error"]["param"] == "mode"
    # live keys do not see test keys and vice versa
    live_ids = {k["id"] for k in (await org.live.get("/v1/api_keys", params={"limit": 100})).json()["data"]}
    assert test_key.json()["id"] not in live_ids


async def test_create_validation_names_the_field(org: OrgKeys) -> None:
    bad_scope = await org.live.post("/v1/api_keys", json={"type": "rk", "scopes": ["nope:read"]})
    assert bad_scope.status_code == 400 and bad_scope.json()["error"]["param"] == "scopes"
    past = await org.live.post("/v1/api_keys", json={"expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["error"]["param"] == "expires_at"
    bad_type = await org.live.post("/v1/api_keys", json={"type": "xx"})
    assert bad_type.status_code == 400 and bad_type.json()["error"]["param"] == "type"


async def test_restricted_key_cannot_mint_more_power(org: OrgKeys) -> None:
    rk = await org.make_key(kind="rk", scopes=["keys:write", "scans:read"])
    async with org.client_for(rk) as client:
        sk = await client.post("/v1/api_keys", json={"type": "sk"})
        assert sk.status_code == 403
        wider = await client.post("/v1/api_keys", json={"type": "rk", "scopes": ["incidents:write"]})
        assert wider.status_code == 403 and "incidents:write" in wider.json()["error"]["message"]
        narrower = await client.post("/v1/api_keys", json={"type": "rk", "scopes": ["scans:read"]})
        assert narrower.status_code == 201
        rolled_sk = await client.post(f"/v1/api_keys/{await _key_id(org, org.live_key)}/roll", json={})
        assert rolled_sk.status_code == 403


async def test_revoked_key_is_401_at_once(org: OrgKeys) -> None:
    made = (await org.live.post("/v1/api_keys", json={"name": "to revoke"})).json()
    async with org.client_for(made["secret"]) as client:
        assert (await client.get("/v1/api_keys")).status_code == 200
        revoked = await org.live.post(f"/v1/api_keys/{made['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        after = await client.get("/v1/api_keys")
        assert after.status_code == 401
        assert after.json()["error"]["message"] == "The provided API key is expired or invalid."


async def test_roll_with_grace_keeps_old_key_until_it_ends(org: OrgKeys) -> None:
    made = (await org.live.post("/v1/api_keys", json={"name": "rolling"})).json()
    rolled = await org.live.post(f"/v1/api_keys/{made['id']}/roll", json={"grace_period_seconds": 3600})
    assert rolled.status_code == 200, rolled.text
    new = rolled.json()
    assert new["id"] != made["id"] and new["name"] == "rolling" and new["secret"] != made["secret"]
    async with org.client_for(made["secret"]) as old, org.client_for(new["secret"]) as fresh:
        assert (await old.get("/v1/api_keys")).status_code == 200  # still inside the grace period
        assert (await fresh.get("/v1/api_keys")).status_code == 200
        old_obj = (await org.live.get(f"/v1/api_keys/{made['id']}")).json()
        expires = dt.datetime.fromisoformat(old_obj["expires_at"].replace("Z", "+00:00"))
        assert dt.timedelta(minutes=55) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)


async def test_roll_without_grace_revokes_old_key(org: OrgKeys) -> None:
    made = (await org.live.post("/v1/api_keys", json={})).json()
    rolled = await org.live.post(f"/v1/api_keys/{made['id']}/roll")
    assert rolled.status_code == 200
    async with org.client_for(made["secret"]) as old, org.client_for(rolled.json()["secret"]) as fresh:
        assert (await old.get("/v1/api_keys")).status_code == 401
        assert (await fresh.get("/v1/api_keys")).status_code == 200
    bad = await org.live.post(f"/v1/api_keys/{made['id']}/roll", json={"grace_period_seconds": -1})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "grace_period_seconds"


async def test_expired_key_is_401(org: OrgKeys) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    key = await org.make_key(expires_at=soon)
    async with org.client_for(key) as client:
        from tests.helpers import poll_until

        async def rejected() -> bool:
            return (await client.get("/v1/api_keys")).status_code == 401

        await poll_until(rejected, timeout=5, message="expired key to be refused")


async def test_audit_log_records_mutations_and_filters(org: OrgKeys) -> None:
    made = await org.live.post("/v1/api_keys", json={"name": "audited"}, headers={"X-Request-Id": "req-audit-0001"})
    key_id = made.json()["id"]
    await org.live.post(f"/v1/api_keys/{key_id}/revoke")
    by_object = (await org.live.get("/v1/audit_logs", params={"object_id": key_id})).json()["data"]
    assert [e["action"] for e in by_object] == ["keys.revoke_api_key", "keys.create_api_key"]
    create = by_object[1]
    assert create["request_id"] == "req-audit-0001" and create["key_id"] == await _key_id(org, org.live_key)
    assert create["client_ip"] and create["status_code"] == 201 and create["object"] == "audit_log"
    by_action = (await org.live.get("/v1/audit_logs", params={"action": "keys.revoke_api_key"})).json()["data"]
    assert {e["object_id"] for e in by_action} == {key_id}
    one = await org.live.get(f"/v1/audit_logs/{create['id']}")
    assert one.status_code == 200 and one.json()["id"] == create["id"]
    # reads are not audited; the other mode does not see live entries
    assert (await org.test.get("/v1/audit_logs", params={"object_id": key_id})).json()["data"] == []


async def test_audit_log_is_append_only(org: OrgKeys, app: object) -> None:
    entry = (await org.live.get("/v1/audit_logs", params={"limit": 1})).json()
    await org.live.post("/v1/api_keys", json={})
    entry = (await org.live.get("/v1/audit_logs", params={"limit": 1})).json()["data"][0]
    for method in ("PUT", "PATCH", "DELETE"):
        response = await org.live.request(method, f"/v1/audit_logs/{entry['id']}")
        assert response.status_code == 405, method
    assert (await org.live.post("/v1/audit_logs", json={})).status_code == 405
    routes = [(path, methods) for path, methods, _ in flat_routes(app) if path.startswith("/v1/audit_logs")]
    assert len(routes) == 2 and all(methods <= {"GET", "HEAD"} for _, methods in routes)


async def _key_id(org: OrgKeys, plaintext: str) -> str:
    keys = (await org.live.get("/v1/api_keys", params={"limit": 100})).json()["data"]
    match = [k["id"] for k in keys if k["redacted"].endswith(plaintext[-4:]) and k["type"] == "sk"]
    assert match
    return match[-1]  # the org's original live key is the oldest


async def test_wrong_content_type_and_unknown_field(org: OrgKeys, client: httpx.AsyncClient) -> None:
    text = await org.live.post("/v1/api_keys", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_media_type"
    unknown = await org.live.post("/v1/api_keys", json={"name": "x", "org_id": "org_evil"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "org_id"


async def test_key_revoked_by_another_process_stops_within_the_cache_ttl(org: OrgKeys) -> None:
    from sqlalchemy import update

    from cybervault.keys import principal_cache
    from cybervault.keys.models import ApiKey
    from cybervault.kit.db import utcnow
    from tests.helpers import poll_until

    made = (await org.live.post("/v1/api_keys", json={"name": "elsewhere"})).json()
    async with org.client_for(made["secret"]) as client:
        assert (await client.get("/v1/api_keys")).status_code == 200  # now cached in this process
        async with org.app.state.db.session() as session:  # as `cybervault keys revoke` would, elsewhere
            await session.execute(update(ApiKey).where(ApiKey.id == made["id"]).values(revoked_at=utcnow()))
            await session.commit()

        async def refused() -> bool:
            return (await client.get("/v1/api_keys")).status_code == 401

        await poll_until(refused, timeout=principal_cache.TTL_SECONDS + 3, interval=0.2,
                         message="revocation to reach this process")
