"""API1 Broken Object Level Authorization: another org, or the same org's other mode, never sees,
changes or deletes an object by its id; it gets the same 404 as for an id that does not exist."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import OrgKeys
from tests.security.conftest import Owned

# Actions on an object id, per prefix: (method, suffix, body).
ACTIONS: dict[str, list[tuple[str, str, dict | None]]] = {
    "/v1/assets": [("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None)],
    "/v1/incidents": [("GET", "", None), ("PATCH", "", {"status": "resolved"}), ("GET", "/comments", None),
                      ("POST", "/comments", {"body": "pwned"}), ("GET", "/timeline", None)],
    "/v1/webhook_endpoints": [("GET", "", None), ("PATCH", "", {"description": "x"}), ("GET", "/secret", None),
                              ("POST", "/rotate_secret", {}), ("POST", "/test", {}), ("GET", "/deliveries", None),
                              ("DELETE", "", None)],
    "/v1/notification_channels": [("GET", "", None), ("PATCH", "", {"name": "x"}), ("POST", "/test", {}),
                                  ("GET", "/deliveries", None), ("DELETE", "", None)],
    "/v1/triage_rules": [("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None)],
    "/v1/compliance/attestations": [("GET", "", None), ("DELETE", "", None)],
    "/v1/threats/schedules": [("GET", "", None), ("DELETE", "", None)],
    "/v1/api_keys": [("GET", "", None), ("POST", "/roll", {}), ("POST", "/revoke", {})],
    "/v1/audit_logs": [("GET", "", None)],
    "/v1/events": [("GET", "", None)],
}


def _missing_like(object_id: str) -> str:
    prefix, _, rest = object_id.rpartition("_")
    return f"{prefix}_{'0' * len(rest)}"


def _error_shape(response: httpx.Response, object_id: str) -> tuple[int, str, str | None, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("param"), error["message"].replace(object_id, "ID")


async def _attack(client: httpx.AsyncClient, owned: Owned) -> list[str]:
    leaks = []
    for prefix, actions in ACTIONS.items():
        object_id = owned.ids[prefix]
        for method, suffix, body in actions:
            response = await client.request(method, f"{prefix}/{object_id}{suffix}", json=body)
            if response.status_code != 404 or response.json()["error"]["code"] != "resource_not_found":
                leaks.append(f"{method} {prefix}/{{id}}{suffix} -> {response.status_code}")
                continue
            # Indistinguishable from an id that never existed: same message with the id swapped.
            missing = _missing_like(object_id)
            other = await client.request(method, f"{prefix}/{missing}{suffix}", json=body)
            if _error_shape(response, object_id) != _error_shape(other, missing):
                leaks.append(f"{method} {prefix}/{{id}}{suffix} differs from a missing id")
    return leaks


async def test_other_org_gets_404_on_every_object(org: OrgKeys, other_org: OrgKeys, owned: Owned) -> None:
    assert await _attack(other_org.live, owned) == []


async def test_same_org_test_mode_cannot_reach_live_objects(org: OrgKeys, owned: Owned) -> None:
    assert await _attack(org.test, owned) == []


async def test_objects_survive_the_attack_unchanged(org: OrgKeys, other_org: OrgKeys, owned: Owned) -> None:
    before = {p: (await org.live.get(f"{p}/{i}")).json() for p, i in owned.ids.items() if p != "/v1/api_keys"}
    await _attack(other_org.live, owned)
    for prefix, body in before.items():
        response = await org.live.get(f"{prefix}/{owned.ids[prefix]}")
        assert response.status_code == 200, prefix
        after = response.json()
        # Compare what the attack tries to write (and what identifies the object), not bookkeeping that
        # the owner's own background work may move meanwhile (delivery state, timestamps).
        watched = {"id", "livemode", "name", "description", "status", "url", "enabled_events", "title",
                   "severity", "target", "type", "actions", "conditions"}
        assert {k: v for k, v in after.items() if k in watched} == {k: v for k, v in body.items() if k in watched}, (
            f"{prefix} changed by another org")
    key = (await org.live.get(f"/v1/api_keys/{owned.ids['/v1/api_keys']}")).json()
    assert not key.get("revoked_at"), "another org revoked this org's key"


async def test_lists_never_include_another_orgs_objects(org: OrgKeys, other_org: OrgKeys, owned: Owned) -> None:
    for prefix, object_id in owned.ids.items():
        for client in (other_org.live, org.test):
            response = await client.get(prefix, params={"limit": 100})
            assert response.status_code == 200, prefix
            assert object_id not in response.text, f"{prefix} list leaks another tenant's object"


@pytest.mark.parametrize("query", ["org_id", "livemode"])
async def test_tenant_cannot_be_chosen_by_query_or_body(org: OrgKeys, other_org: OrgKeys, owned: Owned,
                                                        query: str) -> None:
    value = org.id if query == "org_id" else "true"
    response = await other_org.test.get("/v1/incidents", params={query: value})
    assert owned.ids["/v1/incidents"] not in response.text
    response = await other_org.live.post("/v1/incidents", json={
        "title": "t", "severity": "low", "description": "d", query: value})
    assert response.status_code == 400 and response.json()["error"]["param"] == query


async def test_scan_and_finding_ids_are_tenant_scoped(org: OrgKeys, other_org: OrgKeys) -> None:
    # Test-mode scans are simulated (no packets) and still create a scan row with an id.
    scan = (await org.test.post("/v1/threats/scans", json={"target_ip": "192.0.2.10"})).json()
    assert scan["id"].startswith("sc_"), scan
    for client in (other_org.test, other_org.live, org.live):
        assert (await client.get(f"/v1/threats/scans/{scan['id']}")).status_code == 404
        assert (await client.post(f"/v1/threats/scans/{scan['id']}/cancel")).status_code == 404
