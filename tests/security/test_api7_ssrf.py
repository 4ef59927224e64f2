"""API7 Server Side Request Forgery: webhook endpoints and every kind of notification channel refuse
URLs that reach private, loopback, link-local or metadata addresses - however the address is spelled,
whether given at creation or by a later PATCH, and whether named directly or by a hostname that
resolves there. Redirects are never followed. No packet leaves the machine: bad addresses are refused
before any connect, and hostnames go through a stub resolver."""

from __future__ import annotations

from typing import Any

import pytest

from cybervault.webhooks import ssrf
from tests.helpers import make_org
from tests.webhooks.receiver import Receiver

# Spellings of loopback / metadata / private addresses an attacker would try.
BAD_URLS = [
    "http://127.0.0.1:8080/", "http://localhost:8080/", "http://2130706433/", "http://0x7f000001/",
    "http://0177.0.0.1/", "http://127.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.1.2.3/",
    "http://172.16.0.1/", "http://192.168.0.1/", "http://100.100.100.200/", "http://0.0.0.0/",
    "http://internal.attacker.example/", "http://rebind.attacker.example:9200/",
]
STUB_DNS = {"internal.attacker.example": ["10.0.0.7"], "rebind.attacker.example": ["93.184.216.34", "127.0.0.1"],
            "localhost": ["127.0.0.1", "::1"]}


@pytest.fixture
def stub_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in STUB_DNS:
            raise OSError(f"stub resolver: no such host {host}")
        return STUB_DNS[host]

    monkeypatch.setattr(ssrf, "resolve_host", resolve)


@pytest.fixture
async def strict(make_app: Any, stub_dns: None) -> Any:
    """The production default: no private network allowed for outbound calls."""
    app = await make_app(webhook_allowed_networks=[])
    org = await make_org(app, "SSRF")
    yield org
    await org.live.aclose(), await org.test.aclose()


def _bodies(url: str) -> dict[str, dict[str, Any]]:
    host = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0] if "]" not in url else \
        url.split("//", 1)[1].split("]")[0] + "]"
    return {
        "webhook endpoint": {"url": url, "enabled_events": ["*"]},
        "webhook channel": {"type": "webhook", "url": url},
        "slack channel": {"type": "slack", "url": url},
        "teams channel": {"type": "teams", "url": url},
        "pagerduty channel": {"type": "pagerduty", "routing_key": "r" * 32, "events_url": url},
        "email channel": {"type": "email", "recipients": ["a@example.com"], "smtp_host": host.strip("[]"),
                          "smtp_port": 25, "from_address": "cv@example.com"},
    }


async def test_creation_refuses_internal_destinations(strict: Any) -> None:
    leaks = []
    for url in BAD_URLS:
        for kind, body in _bodies(url).items():
            path = "/v1/webhook_endpoints" if kind == "webhook endpoint" else "/v1/notification_channels"
            response = await strict.live.post(path, json=body)
            code = response.json()["error"]["code"] if response.status_code == 400 else None
            if code not in ("unsafe_url", "invalid_request"):
                leaks.append(f"{kind} {url}: {response.status_code} {response.text[:120]}")
    assert leaks == []
    listed = (await strict.live.get("/v1/notification_channels")).json()["data"]
    assert listed == [] and (await strict.live.get("/v1/webhook_endpoints")).json()["data"] == []


async def test_patch_cannot_point_an_existing_destination_inside(strict: Any) -> None:
    STUB_DNS["hooks.partner.example"] = ["93.184.216.34"]  # public: creation is fine, nothing is sent
    endpoint = await strict.live.post("/v1/webhook_endpoints", json={
        "url": "https://hooks.partner.example/h", "enabled_events": ["*"]})
    channel = await strict.live.post("/v1/notification_channels", json={
        "type": "webhook", "url": "https://hooks.partner.example/c"})
    assert endpoint.status_code == 201 and channel.status_code in (200, 201), channel.text
    for path in (f"/v1/webhook_endpoints/{endpoint.json()['id']}",
                 f"/v1/notification_channels/{channel.json()['id']}"):
        response = await strict.live.patch(path, json={"url": "http://169.254.169.254/"})
        assert response.status_code == 400, path
        assert "hooks.partner.example" in (await strict.live.get(path)).text


async def test_redirects_to_internal_addresses_are_not_followed(org: Any) -> None:
    """A receiver the suite allows (loopback) answers 302 to another address; nothing follows it."""
    async with Receiver() as target:
        redirect = Receiver(lambda _r, _n: (301, b"", {"Location": target.url}))
        async with redirect:
            channel = (await org.live.post("/v1/notification_channels", json={
                "type": "webhook", "url": redirect.url})).json()
            response = await org.live.post(f"/v1/notification_channels/{channel['id']}/test")
            assert response.status_code < 500
            assert len(redirect.requests) == 1
            assert target.requests == [], "the redirect was followed"
            assert response.json().get("ok") is not True or response.json().get("status_code") == 301
