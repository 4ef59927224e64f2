"""Notification channels: each documented payload format arrives at a real receiver; credentials stay secret."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from cybervault.incidents.models import NotificationChannel
from tests.helpers import OrgKeys, free_port, poll_until
from tests.incidents.conftest import HttpReceiver, deliveries_of, make_incident

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefWXYZ42"


def verify(payload, signature, secret):  # noqa: ANN001, ANN201 - the published reference, verbatim
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


async def make_channel(client: Any, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/notification_channels", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def succeeded(app: Any, channel_id: str, count: int = 1) -> list[Any]:
    async def done() -> list[Any] | None:
        rows = [d for d in await deliveries_of(app, channel_id) if d.status == "succeeded"]
        return rows if len(rows) >= count else None

    return await poll_until(done, message=f"{count} succeeded deliveries to {channel_id}")


async def test_slack_gets_block_kit_with_severity_priority_systems_and_link(org: OrgKeys,
                                                                           receiver: HttpReceiver) -> None:
    channel = await make_channel(org.live, type="slack", name="#sec-alerts", url=receiver.url)
    assert channel["id"].startswith("nc_") and channel["url"] == "••••hook" and channel["url_host"] == "127.0.0.1"
    inc = await make_incident(org.live, severity="high", title="Webshell on intranet",
                              affected_systems=["10.60.0.3", "intranet.corp.example"])
    message = (await receiver.wait_for(1))[0].json()
    assert inc["title"] in message["text"]
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header" and "Webshell on intranet" in blocks[0]["text"]["text"]
    fields = " ".join(f["text"] for f in blocks[1]["fields"])
    assert "*Severity*" in fields and "high" in fields and "*Priority*" in fields and inc["priority"] in fields
    assert "10.60.0.3, intranet.corp.example" in blocks[2]["text"]["text"]
    button = next(b for b in blocks if b["type"] == "actions")["elements"][0]
    assert button["url"] == f"http://testserver/v1/incidents/{inc['id']}"
    await succeeded(org.app, channel["id"])
    assert len(receiver.requests) == 1  # incident.triaged is not in the default event types


async def test_teams_gets_an_adaptive_card(org: OrgKeys, receiver: HttpReceiver) -> None:
    channel = await make_channel(org.live, type="teams", url=receiver.url)
    inc = await make_incident(org.live, severity="critical", title="Domain admin created")
    message = (await receiver.wait_for(1))[0].json()
    attachment = message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] and card["$schema"].startswith("http")
    facts = {f["title"]: f["value"] for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]}
    assert facts["Severity"] == "critical" and facts["Priority"] == inc["priority"] and facts["Incident"] == inc["id"]
    assert card["actions"][0]["url"].endswith(inc["id"])
    await succeeded(org.app, channel["id"])


async def test_pagerduty_triggers_then_resolves_with_incident_dedup_key(org: OrgKeys, receiver: HttpReceiver) -> None:
    await make_channel(org.live, type="pagerduty", routing_key=ROUTING_KEY, events_url=receiver.url)
    inc = await make_incident(org.live, severity="high", affected_systems=["db01.corp.example"])
    trigger = (await receiver.wait_for(1))[0].json()
    assert trigger["routing_key"] == ROUTING_KEY and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == inc["id"]
    payload = trigger["payload"]
    assert payload["severity"] == "error" and payload["source"] == "db01.corp.example"
    assert inc["title"] in payload["summary"] and payload["timestamp"].endswith("Z")
    assert payload["custom_details"]["incident_id"] == inc["id"]
    await org.live.patch(f"/v1/incidents/{inc['id']}", json={"status": "resolved"})
    resolve = (await receiver.wait_for(2))[1].json()
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": inc["id"]}


@pytest.mark.parametrize(("severity", "mapped"), [("critical", "critical"), ("medium", "warning"), ("low", "info")])
async def test_pagerduty_severity_mapping(org: OrgKeys, receiver: HttpReceiver, severity: str, mapped: str) -> None:
    await make_channel(org.live, type="pagerduty", routing_key=ROUTING_KEY, events_url=receiver.url)
    await make_incident(org.live, severity=severity)
    assert (await receiver.wait_for(1))[0].json()["payload"]["severity"] == mapped


async def test_webhook_channel_is_signed_like_webhook_endpoints(org: OrgKeys, receiver: HttpReceiver) -> None:
    channel = await make_channel(org.live, type="webhook", url=receiver.url, event_types=["*"])
    secret = channel["secret"]
    assert secret.startswith("whsec_")
    fetched = (await org.live.get(f"/v1/notification_channels/{channel['id']}")).json()
    assert fetched["secret"] == "••••" + secret[-4:] and fetched["url"] == receiver.url
    inc = await make_incident(org.live)
    requests = await receiver.wait_for(2)  # created and triaged
    for request in requests:
        assert verify(request.body, request.headers["x-cybervault-signature"], secret)
        Webhook(secret).verify(request.body, {k: request.headers[k] for k in
                                              ("webhook-id", "webhook-timestamp", "webhook-signature")})
    types = sorted(r.json()["type"] for r in requests)
    assert types == ["incident.created", "incident.triaged"]
    assert requests[0].json()["data"]["object"]["id"] == inc["id"]


async def test_email_has_subject_plain_and_html_parts(org: OrgKeys, smtp: Any) -> None:
    channel = await make_channel(org.live, type="email", smtp_host="127.0.0.1", smtp_port=smtp.port,
                                 smtp_security="none", from_address="cybervault@example.com",
                                 recipients=["soc@example.com", "oncall@example.com"])
    assert channel["smtp_port"] == smtp.port and "smtp_password" in channel
    inc = await make_incident(org.live, severity="critical", title="Data exfiltration to paste site",
                              affected_systems=["10.70.0.8"])
    await poll_until(lambda: smtp.messages, timeout=15, message="an email")
    sender, rcpts, msg = smtp.messages[0]
    assert sender == "cybervault@example.com" and rcpts == ["soc@example.com", "oncall@example.com"]
    assert msg["Subject"] == f"[CyberVault {inc['priority']}] New incident: Data exfiltration to paste site"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in msg.walk()
             if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "Severity: critical" in parts["text/plain"] and "10.70.0.8" in parts["text/plain"]
    assert f"http://testserver/v1/incidents/{inc['id']}" in parts["text/plain"]
    assert "<table>" in parts["text/html"] and inc["id"] in parts["text/html"]
    await succeeded(org.app, channel["id"])
    await make_incident(org.live, severity="critical", title="Two\nlines\r\nBcc: victim@example.com")
    await poll_until(lambda: len(smtp.messages) >= 2, timeout=15, message="a second email")
    injected = smtp.messages[1][2]
    assert injected["Subject"].endswith("Two lines Bcc: victim@example.com") and injected["Bcc"] is None


async def test_email_with_login_credentials(org: OrgKeys) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    received: list[str] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            received.append(session.authenticated and envelope.content.decode(errors="replace"))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = data.login == b"relay-user" and data.password == b"s3cret-pass"
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        channel = await make_channel(org.live, type="email", smtp_host="127.0.0.1", smtp_port=port,
                                     smtp_security="none", smtp_username="relay-user", smtp_password="s3cret-pass",
                                     from_address="cv@example.com", recipients=["soc@example.com"])
        assert channel["smtp_password"] == "••••pass"
        result = (await org.live.post(f"/v1/notification_channels/{channel['id']}/test")).json()
        assert result["ok"] is True, result
        assert received and "Test notification" in received[0]
        await org.live.patch(f"/v1/notification_channels/{channel['id']}", json={"smtp_password": "wrong"})
        failed = (await org.live.post(f"/v1/notification_channels/{channel['id']}/test")).json()
        assert failed["ok"] is False and "Authentication" in failed["error"]
    finally:
        controller.stop()


async def test_credentials_are_encrypted_at_rest_and_masked(org: OrgKeys, receiver: HttpReceiver) -> None:
    channel = await make_channel(org.live, type="pagerduty", routing_key=ROUTING_KEY, events_url=receiver.url)
    assert channel["routing_key"] == "••••YZ42"
    listed = (await org.live.get("/v1/notification_channels")).json()["data"]
    assert [c["routing_key"] for c in listed if c["id"] == channel["id"]] == ["••••YZ42"]
    async with org.app.state.db.session() as session:
        row = (await session.scalars(select(NotificationChannel).where(NotificationChannel.id == channel["id"]))).one()
    assert ROUTING_KEY not in row.credentials_encrypted and ROUTING_KEY not in str(row.config)
    assert row.credentials_encrypted.startswith("gAAAA")  # a Fernet token


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/hook",
                                 "http://192.168.1.10/hook"])
async def test_unsafe_urls_are_refused(org: OrgKeys, url: str) -> None:
    for fields in ({"type": "slack", "url": url}, {"type": "pagerduty", "routing_key": ROUTING_KEY, "events_url": url}):
        response = await org.live.post("/v1/notification_channels", json=fields)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "unsafe_url" and error["param"] in ("url", "events_url")
    smtp = await org.live.post("/v1/notification_channels", json={
        "type": "email", "smtp_host": "10.0.0.1", "from_address": "a@example.com", "recipients": ["b@example.com"]})
    assert smtp.status_code == 400 and smtp.json()["error"]["param"] == "smtp_host"


async def test_unreachable_channel_never_blocks_creation(org: OrgKeys) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nothing-listens"
    channel = await make_channel(org.live, type="slack", url=dead)
    inc = await make_incident(org.live, severity="critical")
    assert inc["status"] == "open"

    async def attempted() -> list[dict[str, Any]] | None:
        page = (await org.live.get(f"/v1/notification_channels/{channel['id']}/deliveries")).json()["data"]
        return page if page and page[0]["attempts"] else None

    deliveries = await poll_until(attempted, message="a failed attempt in the attempts log")
    first = deliveries[0]
    assert first["object"] == "notification_delivery" and first["notification_channel"] == channel["id"]
    assert first["event_type"] == "incident.created" and first["attempts"][0]["succeeded"] is False
    assert first["attempts"][0]["error"]


async def test_filters_by_severity_priority_and_event_type(org: OrgKeys) -> None:
    high = await HttpReceiver().start()
    p1 = await HttpReceiver().start()
    updates = await HttpReceiver().start()
    try:
        await make_channel(org.live, type="slack", url=high.url, min_severity="high")
        await make_channel(org.live, type="slack", url=p1.url, min_priority="P2")
        await make_channel(org.live, type="slack", url=updates.url, event_types=["incident.updated"])
        low = await make_incident(org.live, severity="low")
        crit = await make_incident(org.live, severity="critical")  # score 60 → P2
        await org.live.patch(f"/v1/incidents/{low['id']}", json={"assignee": "carol"})
        await high.wait_for(1)
        await p1.wait_for(1)
        await updates.wait_for(1)
        assert [r.json()["text"] for r in high.requests] == [r.json()["text"] for r in p1.requests]
        assert crit["title"] in high.requests[0].json()["text"] and len(high.requests) == 1
        assert len(updates.requests) == 1 and "Incident updated" in updates.requests[0].json()["text"]
    finally:
        for server in (high, p1, updates):
            await server.stop()


async def test_gone_disables_the_channel(org: OrgKeys) -> None:
    gone = await HttpReceiver(status=410).start()
    try:
        channel = await make_channel(org.live, type="teams", url=gone.url)
        await make_incident(org.live)

        async def disabled() -> dict[str, Any] | None:
            body = (await org.live.get(f"/v1/notification_channels/{channel['id']}")).json()
            return body if body["status"] == "disabled" else None

        body = await poll_until(disabled, timeout=15, message="channel disabled after 410")
        assert "410" in body["disabled_reason"]
    finally:
        await gone.stop()


async def test_test_endpoint_sends_now(org: OrgKeys, receiver: HttpReceiver) -> None:
    channel = await make_channel(org.live, type="slack", url=receiver.url)
    result = (await org.live.post(f"/v1/notification_channels/{channel['id']}/test")).json()
    assert result["ok"] is True and result["status_code"] == 200
    assert "Test notification" in receiver.requests[0].json()["text"]


async def test_channel_crud_validation_and_isolation(org: OrgKeys, other_org: OrgKeys, receiver: HttpReceiver) -> None:
    cases = [
        ({"type": "sms", "url": receiver.url}, "type"),
        ({"type": "slack"}, "url"),
        ({"type": "slack", "url": "ftp://example.com/x"}, "url"),
        ({"type": "slack", "url": receiver.url, "routing_key": "abc"}, "routing_key"),
        ({"type": "pagerduty"}, "routing_key"),
        ({"type": "email", "smtp_host": "127.0.0.1", "from_address": "x", "recipients": ["a@example.com"]},
         "from_address"),
        ({"type": "email", "smtp_host": "127.0.0.1", "from_address": "a@example.com", "recipients": []},
         "recipients"),
        ({"type": "email", "smtp_host": "127.0.0.1", "from_address": "a@example.com", "recipients": ["nope"]},
         "recipients"),
        ({"type": "slack", "url": receiver.url, "min_severity": "huge"}, "min_severity"),
        ({"type": "slack", "url": receiver.url, "event_types": ["scan.completed"]}, "event_types[0]"),
        ({"type": "slack", "url": receiver.url, "colour": "red"}, "colour"),
    ]
    for payload, param in cases:
        response = await org.live.post("/v1/notification_channels", json=payload)
        assert response.status_code == 400, (payload, response.text)
        assert response.json()["error"]["param"] == param, (payload, response.json())
    channel = await make_channel(org.live, type="slack", url=receiver.url, name="a")
    assert channel["event_types"] == ["incident.created", "incident.resolved", "incident.sla_breached"]
    url = f"/v1/notification_channels/{channel['id']}"
    patched = await org.live.patch(url, json={"name": "b", "status": "disabled", "min_priority": "P1"})
    assert patched.status_code == 200 and patched.json()["status"] == "disabled" and patched.json()["name"] == "b"
    wrong = await org.live.patch(url, json={"smtp_host": "127.0.0.1"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "smtp_host"
    for client in (other_org.live, org.test):
        assert (await client.get(url)).status_code == 404
        assert (await client.post(f"{url}/test")).status_code == 404
        assert (await client.delete(url)).status_code == 404
    assert (await org.live.delete(url)).json()["deleted"] is True
    assert (await org.live.get(url)).status_code == 404


async def test_channels_hear_only_their_own_org_and_mode(org: OrgKeys, other_org: OrgKeys,
                                                         receiver: HttpReceiver) -> None:
    await make_channel(org.test, type="slack", url=receiver.url)
    await make_incident(org.live, title="Live incident")
    await make_incident(other_org.test, title="Other org incident")
    await make_incident(org.test, title="Test mode incident")
    requests = await receiver.wait_for(1)
    await make_incident(org.test, title="Second test mode incident")
    requests = await receiver.wait_for(2)
    titles = [r.json()["blocks"][0]["text"]["text"] for r in requests]
    assert titles == ["New incident: Test mode incident", "New incident: Second test mode incident"]
