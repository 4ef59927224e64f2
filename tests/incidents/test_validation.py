"""Bad input for every field gets a 400 naming the field, and nothing is created."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import OrgKeys

VALID = {"title": "Port scan from partner VPN", "severity": "medium", "description": "Scan of /24 from 10.8.0.4"}


def body(**changes: Any) -> dict[str, Any]:
    out = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            out.pop(key)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(("payload", "param"), [
    (body(title=""), "title"),
    (body(title="   "), "title"),
    (body(title="x" * 201), "title"),
    (body(title=...), "title"),
    (body(title=5), "title"),
    (body(severity="bogus"), "severity"),
    (body(severity="CRITICAL"), "severity"),
    (body(severity=...), "severity"),
    (body(description=""), "description"),
    (body(description="d" * 20_001), "description"),
    (body(description=...), "description"),
    (body(affected_systems=[f"10.0.{i // 250}.{i % 250}" for i in range(501)]), "affected_systems"),
    (body(affected_systems="10.0.0.1"), "affected_systems"),
    (body(affected_systems=["10.0.0.1", "not a host!"]), "affected_systems[1]"),
    (body(affected_systems=["10.0.0.0/33"]), "affected_systems[0]"),
    (body(affected_systems=["999.1.1.1"]), "affected_systems[0]"),
    (body(detected_at="last tuesday"), "detected_at"),
    (body(detected_at="2999-01-01T00:00:00Z"), "detected_at"),
    (body(personal_data_breach="maybe"), "personal_data_breach"),
    (body(tags=["x" * 65]), "tags[0]"),
    (body(tags=[f"t{i}" for i in range(51)]), "tags"),
    (body(external_id=""), "external_id"),
    (body(external_id="e" * 201), "external_id"),
    (body(priority="P1"), "priority"),
    (body(status="closed"), "status"),
])
async def test_create_rejects_bad_fields(org: OrgKeys, payload: dict[str, Any], param: str) -> None:
    before = len((await org.live.get("/v1/incidents", params={"limit": 100})).json()["data"])
    response = await org.live.post("/v1/incidents", json=payload)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["param"] == param, error
    assert len((await org.live.get("/v1/incidents", params={"limit": 100})).json()["data"]) == before


async def test_limits_are_inclusive(org: OrgKeys) -> None:
    ok = await org.live.post("/v1/incidents", json=body(
        title="x" * 200, description="d" * 20_000,
        affected_systems=[f"10.1.{i // 250}.{i % 250}" for i in range(500)]))
    assert ok.status_code == 201, ok.text
    assert len(ok.json()["affected_systems"]) == 500
    assert ok.json()["triage"]["unmatched_systems"][:1] == ["10.1.0.0"]


async def test_systems_are_normalised(org: OrgKeys) -> None:
    response = await org.live.post("/v1/incidents", json=body(
        affected_systems=["Web01.Example.COM.", "10.0.0.7/24", "::FFFF:10.0.0.1", "web01.example.com"]))
    assert response.status_code == 201
    assert response.json()["affected_systems"] == ["web01.example.com", "10.0.0.0/24", "::ffff:a00:1"]


@pytest.mark.parametrize(("payload", "param"), [
    ({"status": "bogus"}, "status"),
    ({"status": None}, "status"),
    ({"severity": "urgent"}, "severity"),
    ({"assignee": "a" * 201}, "assignee"),
    ({"root_cause": ""}, "root_cause"),
    ({"lessons_learned": "l" * 20_001}, "lessons_learned"),
    ({"title": "renamed"}, "title"),
    ({"authority_notified_at": "soon"}, "authority_notified_at"),
])
async def test_update_rejects_bad_fields(org: OrgKeys, payload: dict[str, Any], param: str) -> None:
    created = (await org.live.post("/v1/incidents", json=VALID)).json()
    response = await org.live.patch(f"/v1/incidents/{created['id']}", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


async def test_empty_update_and_comment_are_rejected(org: OrgKeys) -> None:
    created = (await org.live.post("/v1/incidents", json=VALID)).json()
    assert (await org.live.patch(f"/v1/incidents/{created['id']}", json={})).status_code == 400
    comment = await org.live.post(f"/v1/incidents/{created['id']}/comments", json={"body": ""})
    assert comment.status_code == 400 and comment.json()["error"]["param"] == "body"
    missing = await org.live.get("/v1/incidents/inc_doesnotexist00000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_not_found"
