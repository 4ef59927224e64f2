"""Idempotency-Key on POST: replayed with Idempotent-Replayed, 409 on a different body, executed once
when two identical requests race."""

from __future__ import annotations

import asyncio
import uuid

from tests.helpers import OrgKeys


async def _key_count(org: OrgKeys) -> int:
    return len((await org.live.get("/v1/api_keys", params={"limit": 100})).json()["data"])


async def test_replay_returns_the_first_response(org: OrgKeys) -> None:
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    before = await _key_count(org)
    first = await org.live.post("/v1/api_keys", json={"name": "once"}, headers=idem)
    again = await org.live.post("/v1/api_keys", json={"name": "once"}, headers=idem)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the same key (and its one-time secret) comes back
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await _key_count(org) == before + 1


async def test_same_key_different_body_is_409(org: OrgKeys) -> None:
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    assert (await org.live.post("/v1/api_keys", json={"name": "a"}, headers=idem)).status_code == 201
    other = await org.live.post("/v1/api_keys", json={"name": "b"}, headers=idem)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    other_path = await org.live.post("/v1/api_keys/key_0000000000000000000000/revoke", headers=idem)
    assert other_path.status_code == 409


async def test_keys_are_scoped_to_org_and_mode(org: OrgKeys, other_org: OrgKeys) -> None:
    idem = {"Idempotency-Key": "shared-key-" + uuid.uuid4().hex}
    a = await org.live.post("/v1/api_keys", json={"name": "x"}, headers=idem)
    b = await other_org.live.post("/v1/api_keys", json={"name": "x"}, headers=idem)
    c = await org.test.post("/v1/api_keys", json={"name": "x"}, headers=idem)
    assert len({a.json()["id"], b.json()["id"], c.json()["id"]}) == 3
    assert "idempotent-replayed" not in b.headers and "idempotent-replayed" not in c.headers


async def test_failures_are_not_stored(org: OrgKeys) -> None:
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    bad = await org.live.post("/v1/api_keys", json={"type": "rk"}, headers=idem)
    assert bad.status_code == 400
    fixed = await org.live.post("/v1/api_keys", json={"type": "rk", "scopes": ["scans:read"]}, headers=idem)
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


async def test_concurrent_duplicates_execute_once(org: OrgKeys) -> None:
    before = await _key_count(org)
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    responses = await asyncio.gather(*[
        org.live.post("/v1/api_keys", json={"name": "race"}, headers=idem) for _ in range(4)])
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 3
    assert await _key_count(org) == before + 1


async def test_overlong_key_is_400(org: OrgKeys) -> None:
    response = await org.live.post("/v1/api_keys", json={}, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"


async def test_stored_response_does_not_hold_the_secret_in_clear(org: OrgKeys) -> None:
    from sqlalchemy import select

    from cybervault.audit.models import IdempotencyRecord

    idem = {"Idempotency-Key": str(uuid.uuid4())}
    first = await org.live.post("/v1/api_keys", json={"name": "sealed"}, headers=idem)
    secret = first.json()["secret"]
    async with org.app.state.db.session() as session:
        stored = list((await session.scalars(select(IdempotencyRecord.response_body))).all())
    assert stored and not any(secret in (body or "") for body in stored)
    again = await org.live.post("/v1/api_keys", json={"name": "sealed"}, headers=idem)
    assert again.json()["secret"] == secret and again.headers["idempotent-replayed"] == "true"
