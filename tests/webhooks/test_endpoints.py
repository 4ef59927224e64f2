"""/v1/webhook_endpoints: CRUD, validation, secrets (encrypted at rest), scopes, isolation."""

from __future__ import annotations

from sqlalchemy import select

from cybervault.webhooks.crypto import decrypt_text
from cybervault.webhooks.models import WebhookEndpoint
from tests.helpers import OrgKeys
from tests.webhooks.receiver import Receiver


async def test_crud_round_trip(org: OrgKeys, receiver: Receiver) -> None:
    created = await org.live.post("/v1/webhook_endpoints", json={
        "url": receiver.url, "enabled_events": ["incident.created", "scan.*"], "description": "SOC pager"})
    assert created.status_code == 201
    body = created.json()
    assert body["id"].startswith("we_") and body["object"] == "webhook_endpoint"
    assert body["status"] == "enabled" and body["disabled_reason"] is None and body["livemode"] is True
    assert body["enabled_events"] == ["incident.created", "scan.*"]
    endpoint_id = body["id"]

    fetched = (await org.live.get(f"/v1/webhook_endpoints/{endpoint_id}")).json()
    assert "secret" not in fetched and fetched["url"] == receiver.url
    listed = (await org.live.get("/v1/webhook_endpoints")).json()
    assert listed["data"][0]["id"] == endpoint_id and all("secret" not in e for e in listed["data"])

    patched = await org.live.patch(f"/v1/webhook_endpoints/{endpoint_id}", json={
        "enabled_events": ["*"], "description": None, "url": receiver.url + "/v2"})
    assert patched.status_code == 200
    assert patched.json()["enabled_events"] == ["*"] and patched.json()["description"] is None
    assert patched.json()["url"].endswith("/v2")

    disabled = (await org.live.patch(f"/v1/webhook_endpoints/{endpoint_id}", json={"status": "disabled"})).json()
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "Disabled through the API."

    deleted = await org.live.delete(f"/v1/webhook_endpoints/{endpoint_id}")
    assert deleted.json() == {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
    assert (await org.live.get(f"/v1/webhook_endpoints/{endpoint_id}")).status_code == 404


async def test_validation_errors_name_the_field(org: OrgKeys, receiver: Receiver) -> None:
    cases = [
        ({"url": receiver.url, "enabled_events": ["incident.exploded"]}, "enabled_events"),
        ({"url": receiver.url, "enabled_events": []}, "enabled_events"),
        ({"url": receiver.url}, "enabled_events"),
        ({"url": receiver.url, "enabled_events": ["*"], "secret": "mine"}, "secret"),
        ({"enabled_events": ["*"]}, "url"),
    ]
    for payload, param in cases:
        response = await org.live.post("/v1/webhook_endpoints", json=payload)
        assert response.status_code == 400, payload
        assert response.json()["error"]["param"].startswith(param), response.json()
    bad_url = await org.live.patch("/v1/webhook_endpoints/we_missing", json={"url": "http://10.0.0.1/"})
    assert bad_url.status_code == 404  # the object is looked up before the URL is checked
    created = (await org.live.post("/v1/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["*"]})
               ).json()
    refused = await org.live.patch(f"/v1/webhook_endpoints/{created['id']}", json={"url": "http://10.0.0.1/"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unsafe_url"


async def test_secret_is_encrypted_at_rest_and_revealed_only_with_write_scope(org: OrgKeys,
                                                                              receiver: Receiver) -> None:
    created = (await org.live.post("/v1/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["*"]})
               ).json()
    secret = created["secret"]
    async with org.app.state.db.session() as session:
        stored = await session.scalar(select(WebhookEndpoint.secret_encrypted)
                                      .where(WebhookEndpoint.id == created["id"]))
    assert stored is not None and secret not in stored and secret.removeprefix("whsec_") not in stored
    assert decrypt_text(org.app.state.settings.encryption_key, stored) == secret

    reader = org.client_for(await org.make_key(kind="rk", scopes=["webhooks:read"]))
    writer = org.client_for(await org.make_key(kind="rk", scopes=["webhooks:write"]))
    try:
        assert (await reader.get(f"/v1/webhook_endpoints/{created['id']}")).status_code == 200
        denied = await reader.get(f"/v1/webhook_endpoints/{created['id']}/secret")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_permissions"
        assert (await reader.post(f"/v1/webhook_endpoints/{created['id']}/rotate_secret")).status_code == 403
        revealed = await writer.get(f"/v1/webhook_endpoints/{created['id']}/secret")
        assert revealed.json()["secret"] == secret and revealed.json()["previous_secret_expires_at"] is None
    finally:
        await reader.aclose()
        await writer.aclose()


async def test_other_orgs_and_modes_cannot_see_or_touch_an_endpoint(org: OrgKeys, other_org: OrgKeys,
                                                                    receiver: Receiver) -> None:
    created = (await org.live.post("/v1/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["*"]})
               ).json()
    path = f"/v1/webhook_endpoints/{created['id']}"
    for client in (other_org.live, org.test):
        assert (await client.get(path)).status_code == 404
        assert (await client.get(path + "/secret")).status_code == 404
        assert (await client.patch(path, json={"status": "disabled"})).status_code == 404
        assert (await client.delete(path)).status_code == 404
        assert (await client.post(path + "/test")).status_code == 404
        assert (await client.get(path + "/deliveries")).status_code == 404
        assert created["id"] not in [e["id"] for e in (await client.get("/v1/webhook_endpoints")).json()["data"]]
    assert (await org.live.get(path)).json()["status"] == "enabled"


async def test_test_send_to_a_disabled_endpoint_is_a_conflict(org: OrgKeys, receiver: Receiver) -> None:
    created = (await org.live.post("/v1/webhook_endpoints", json={"url": receiver.url, "enabled_events": ["*"]})
               ).json()
    await org.live.patch(f"/v1/webhook_endpoints/{created['id']}", json={"status": "disabled"})
    response = await org.live.post(f"/v1/webhook_endpoints/{created['id']}/test")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    assert receiver.requests == []
