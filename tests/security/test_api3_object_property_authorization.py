"""API3 Broken Object Property Level Authorization: clients cannot set fields they do not own (unknown
and read-only fields are rejected by name) and secrets never come back in responses, lists, the audit
log or log lines."""

from __future__ import annotations

import pytest

from tests.helpers import OrgKeys
from tests.security.conftest import Owned

READ_ONLY = ["id", "object", "org_id", "livemode", "created", "created_at", "updated_at"]

CREATES = {
    "/v1/assets": {"target": "127.0.0.1"},
    "/v1/incidents": {"title": "t", "severity": "low", "description": "d"},
    "/v1/webhook_endpoints": {"url": "http://127.0.0.1:9/h", "enabled_events": ["*"]},
    "/v1/notification_channels": {"type": "webhook", "url": "http://127.0.0.1:9/h"},
    "/v1/triage_rules": {"actions": {"priority": "P2"}},
    "/v1/compliance/attestations": {"control": "SECURITY-POLICY", "status": "pass", "attested_by": "a"},
    "/v1/threats/schedules": {"target": "127.0.0.1", "interval_minutes": 60},
    "/v1/threats/scans": {"target_ip": "127.0.0.1"},
    "/v1/api_keys": {"name": "k"},
}
UPDATES = {
    "/v1/assets": "PATCH", "/v1/incidents": "PATCH", "/v1/webhook_endpoints": "PATCH",
    "/v1/notification_channels": "PATCH", "/v1/triage_rules": "PATCH",
}


@pytest.mark.parametrize("field", ["is_admin", *READ_ONLY])
async def test_create_rejects_unknown_and_read_only_fields(org: OrgKeys, field: str) -> None:
    for path, body in CREATES.items():
        client = org.test if path == "/v1/threats/scans" else org.live  # test mode: no packets
        response = await client.post(path, json={**body, field: "org_attacker"})
        assert response.status_code == 400, f"{path} accepted {field}: {response.text}"
        error = response.json()["error"]
        assert error["code"] == "invalid_request" and error["param"] == field, (path, error)


@pytest.mark.parametrize("field", ["org_id", "livemode", "id", "secret", "created"])
async def test_update_rejects_read_only_fields(org: OrgKeys, owned: Owned, field: str) -> None:
    for prefix, method in UPDATES.items():
        object_id = owned.ids[prefix]
        before = (await org.live.get(f"{prefix}/{object_id}")).json()
        response = await org.live.request(method, f"{prefix}/{object_id}", json={field: "evil"})
        assert response.status_code == 400, f"{prefix} accepted {field}"
        assert response.json()["error"]["param"] == field
        after = (await org.live.get(f"{prefix}/{object_id}")).json()
        assert after == before


async def test_secrets_are_shown_once_and_never_again(org: OrgKeys) -> None:
    key = (await org.live.post("/v1/api_keys", json={"name": "ci"})).json()
    endpoint = (await org.live.post("/v1/webhook_endpoints", json={
        "url": "http://127.0.0.1:9/h", "enabled_events": ["*"]})).json()
    pagerduty = (await org.live.post("/v1/notification_channels", json={
        "type": "pagerduty", "routing_key": "R0UTINGKEYsecret0123456789abcdef"})).json()
    email = (await org.live.post("/v1/notification_channels", json={
        "type": "email", "recipients": ["soc@example.com"], "smtp_host": "127.0.0.1", "smtp_port": 2525,
        "smtp_username": "u", "smtp_password": "Sup3rSecretSmtpPassw0rd", "from_address": "cv@example.com"})).json()
    assert email.get("id"), email
    secrets = {
        "api key": key["secret"],
        "webhook secret": endpoint["secret"],
        "routing key": "R0UTINGKEYsecret0123456789abcdef",
        "smtp password": "Sup3rSecretSmtpPassw0rd",
    }
    assert "R0UTINGKEYsecret0123456789abcdef" not in str(pagerduty)
    readable = [
        f"/v1/api_keys/{key['id']}", "/v1/api_keys?limit=100",
        f"/v1/webhook_endpoints/{endpoint['id']}", "/v1/webhook_endpoints?limit=100",
        f"/v1/notification_channels/{pagerduty['id']}", f"/v1/notification_channels/{email['id']}",
        "/v1/notification_channels?limit=100", "/v1/audit_logs?limit=100", "/v1/events?limit=100",
    ]
    for path in readable:
        response = await org.live.get(path)
        assert response.status_code == 200, path
        for name, secret in secrets.items():
            assert secret not in response.text, f"{name} leaked by GET {path}"
    # The webhook secret has exactly one deliberate read path.
    assert (await org.live.get(f"/v1/webhook_endpoints/{endpoint['id']}/secret")).json()["secret"] == \
        endpoint["secret"]


async def test_secrets_never_reach_log_lines(org: OrgKeys, capfd: pytest.CaptureFixture[str]) -> None:
    await org.live.post("/v1/notification_channels", json={"type": "pagerduty", "routing_key": "LOGLEAKcheck42"})
    await org.live.get(f"/v1/incidents?api_key={org.live_key}")
    async with org.client_for(org.live_key[:-1] + "Z") as bad:
        await bad.get("/v1/incidents")
    out, err = capfd.readouterr()
    for secret in (org.live_key, "LOGLEAKcheck42"):
        assert secret not in out + err
