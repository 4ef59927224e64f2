"""The SSRF guard. Nothing here can send a packet off the machine: forbidden addresses are IP literals
or come from a stubbed resolver, and every refusal happens before any connect (which is asserted)."""

from __future__ import annotations

from typing import Any

import pytest

from cybervault.kit.errors import UnsafeUrl
from cybervault.webhooks import http as webhook_http
from cybervault.webhooks import ssrf
from cybervault.webhooks.http import post_json
from tests.conftest import base_settings
from tests.helpers import OrgKeys, poll_until
from tests.webhooks.conftest import emit
from tests.webhooks.receiver import Receiver

LOOPBACK_ONLY = ["127.0.0.0/8", "::1/128"]
Opened = list[tuple[str, int]]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver stub: hostname -> addresses. Unknown names fail like NXDOMAIN (no real lookup)."""
    table: dict[str, list[str]] = {}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"stub resolver: no such host {host}")
        return table[host]

    monkeypatch.setattr(ssrf, "resolve_host", resolve)
    return table


# Retries of earlier tests' deliveries keep reaching their (closed, or since reused) loopback ports for a
# minute or two; they are not this test's doing. What these tests guard against are connects to the
# forbidden address itself, and deliveries of their own event (checked by event id at the receiver).
_OTHER_TESTS = ("127.", "::1")


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Records every socket the delivery client opens, except to the loopback other tests deliver to."""
    seen: list[tuple[str, int]] = []
    original = webhook_http._open_tcp

    async def spy(host: str, port: int) -> Any:
        if not host.startswith(_OTHER_TESTS):
            seen.append((host, port))
        return await original(host, port)

    monkeypatch.setattr(webhook_http, "_open_tcp", spy)
    return seen


@pytest.mark.parametrize(("url", "reason"), [
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://10.0.0.1/hook", "private"),
    ("http://192.168.1.10/hook", "private"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.64.0.1/", "non-public"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
])
async def test_forbidden_addresses_are_refused_at_creation(org: OrgKeys, dns: dict[str, list[str]],
                                                           connects: Opened, url: str, reason: str) -> None:
    response = await org.live.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": ["*"]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unsafe_url" and error["param"] == "url"
    assert reason in error["message"]
    assert connects == []


async def test_hostname_resolving_to_a_private_address_is_refused(org: OrgKeys, dns: dict[str, list[str]],
                                                                  connects: Opened) -> None:
    dns["hooks.internal.example"] = ["127.0.0.5", "10.20.30.40"]  # one bad address is enough
    response = await org.live.post("/v1/webhook_endpoints",
                                   json={"url": "https://hooks.internal.example/x", "enabled_events": ["*"]})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "hooks.internal.example (10.20.30.40)" in message and "private" in message
    assert connects == []


async def test_localhost_is_refused_when_loopback_is_not_allowed(dns: dict[str, list[str]]) -> None:
    dns["localhost"] = ["127.0.0.1", "::1"]
    with pytest.raises(UnsafeUrl, match="loopback"):
        await ssrf.check_url("http://localhost:8080/hook", [])
    await ssrf.check_url("http://localhost:8080/hook", LOOPBACK_ONLY)  # the operator allowed it


@pytest.mark.parametrize(("url", "fragment"), [
    ("ftp://127.0.0.1/x", "http"),
    ("file:///etc/passwd", "http"),
    ("http://user:pw@127.0.0.1/x", "credentials"),
    ("http://:80/", "no host"),
    ("http://127.0.0.1:99999/", "malformed"),
    ("http://127.0.0.1/a b", "whitespace"),
])
async def test_only_plain_http_urls_without_credentials(url: str, fragment: str) -> None:
    with pytest.raises(UnsafeUrl, match=fragment):
        await ssrf.check_url(url, LOOPBACK_ONLY)


async def test_metadata_stays_refused_even_inside_an_allowed_network() -> None:
    with pytest.raises(UnsafeUrl, match="metadata"):
        await ssrf.check_url("http://169.254.169.254/", ["169.254.0.0/16"])
    await ssrf.check_url("http://169.254.10.10/", ["169.254.0.0/16"])


async def test_unresolvable_host_is_a_clear_error(dns: dict[str, list[str]]) -> None:
    with pytest.raises(UnsafeUrl, match="could not be resolved"):
        await ssrf.check_url("https://nowhere.invalid/", [])


async def test_dns_change_after_creation_is_refused_at_delivery(org: OrgKeys, dns: dict[str, list[str]],
                                                                connects: Opened, receiver: Receiver) -> None:
    dns["hooks.example"] = ["127.0.0.1"]
    url = f"http://hooks.example:{receiver.port}/hook"
    created = await org.live.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": ["*"]})
    assert created.status_code == 201
    dns["hooks.example"] = ["10.0.0.1"]  # the name now points inside the network
    event_id = await emit(org.app, org.id)

    async def attempted() -> dict[str, Any] | None:
        rows = (await org.live.get(f"/v1/webhook_endpoints/{created.json()['id']}/deliveries")).json()["data"]
        return rows[0] if rows and rows[0]["attempts"] else None

    delivery = await poll_until(attempted, message="refused attempt")
    assert "unsafe_url" in delivery["attempts"][-1]["error"] and "10.0.0.1" in delivery["attempts"][-1]["error"]
    assert connects == []
    assert not [r for r in receiver.requests if r.headers.get("webhook-id") == event_id]


async def test_connected_address_is_checked_again(dns: dict[str, list[str]], receiver: Receiver) -> None:
    # Our lookup says 127.0.0.2 (allowed); the client's own lookup of "localhost" connects to 127.0.0.1
    # or ::1 (not allowed) - as DNS rebinding would. The request must stop before a byte is sent.
    dns["localhost"] = ["127.0.0.2"]
    settings = base_settings(webhook_allowed_networks=["127.0.0.2/32"])
    result = await post_json(f"http://localhost:{receiver.port}/hook", b"{}", {}, settings)
    assert not result.ok and result.status_code is None
    assert "unsafe_url: connected to" in (result.error or "")
    assert receiver.requests == []

    allowed = base_settings(webhook_allowed_networks=LOOPBACK_ONLY)
    dns["localhost"] = ["127.0.0.1"]
    assert (await post_json(f"http://localhost:{receiver.port}/hook", b"{}", {}, allowed)).ok
