"""Every resource through the sync client against a live CyberVault server (fixture `cv`).

Scans use the test key only (sandbox: no packet leaves the machine). Resources whose routes the
server does not publish yet are skipped with the route named.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import cybervault_sdk
from cybervault_sdk import Client

from .flaky_server import Action, FlakyServer
from .support import Target, unique
from .webhook_receiver import WebhookReceiver

INVALID_KEY_MESSAGE = "The provided API key is expired or invalid."


@pytest.fixture
def live(cv: Target) -> Iterator[Client]:
    with Client(api_key=cv.live_key, base_url=cv.base_url) as client:
        yield client


@pytest.fixture
def sandbox(cv: Target) -> Iterator[Client]:
    with Client(api_key=cv.test_key, base_url=cv.base_url) as client:
        yield client


def poll(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


# ---- assets, pagination, errors ----------------------------------------------------------------

def test_assets_lifecycle(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/assets", "/v1/assets/{asset_id}")
    tag = unique("tag")
    asset = sandbox.assets.create(f"{unique('host')}.example.com", name="Web 1", tags=[tag],
                                  criticality="high", environment="prod", owner="secops")
    assert isinstance(asset, cybervault_sdk.Asset)
    assert asset.id.startswith("ast_") and asset.livemode is False and asset.criticality == "high"
    assert sandbox.assets.retrieve(asset.id).name == "Web 1"
    updated = sandbox.assets.update(asset.id, name="Web 1 (renamed)", criticality="critical")
    assert (updated.name, updated.criticality) == ("Web 1 (renamed)", "critical")
    assert [a.id for a in sandbox.assets.list(tag=tag)] == [asset.id]
    deleted = sandbox.assets.delete(asset.id)
    assert deleted.deleted is True and deleted.id == asset.id
    with pytest.raises(cybervault_sdk.NotFoundError) as caught:
        sandbox.assets.retrieve(asset.id)
    error = caught.value
    assert (error.http_status, error.code) == (404, "resource_not_found")
    assert error.request_id and error.documentation_url.endswith("/docs/errors/resource_not_found")


def test_auto_pagination_walks_every_page(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/assets")
    tag = unique("page")
    created = [sandbox.assets.create(f"{unique('p')}.example.com", tags=[tag]).id for _ in range(23)]
    newest_first = list(reversed(created))

    first = sandbox.assets.list(tag=tag, limit=10)
    assert isinstance(first, cybervault_sdk.Page) and first.has_more and len(first.data) == 10
    assert [a.id for a in first] == newest_first  # iterating the page walks all of them
    assert [a.id for a in first.auto_paging_iter()] == newest_first
    assert [len(p.data) for p in first.iter_pages()] == [10, 10, 3]
    assert [a.id for a in sandbox.assets.list(tag=tag, limit=10).to_list(max_items=12)] == newest_first[:12]
    # ending_before walks towards newer objects.
    newer = sandbox.assets.list(tag=tag, limit=5, ending_before=created[10])
    assert sorted(a.id for a in newer) == sorted(created[11:])


def test_errors_are_typed_with_the_api_error_fields(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/assets")
    with Client(api_key="cv_test_sk_000000000000000000000000000000", base_url=cv.base_url) as bad:
        with pytest.raises(cybervault_sdk.AuthenticationError) as caught:
            bad.assets.list()
    error = caught.value
    assert (error.http_status, error.code, error.message) == (401, "invalid_api_key", INVALID_KEY_MESSAGE)
    assert error.documentation_url.endswith("/errors/invalid_api_key") and error.request_id

    with pytest.raises(cybervault_sdk.InvalidRequestError) as caught_limit:
        sandbox.assets.list(limit=1000)
    assert (caught_limit.value.code, caught_limit.value.param) == ("invalid_request", "limit")

    with pytest.raises(cybervault_sdk.InvalidRequestError) as caught_field:
        sandbox.assets.create("198.51.100.7", no_such_field=True)
    assert caught_field.value.param == "no_such_field"


def test_duplicate_asset_is_a_conflict_and_is_not_retried(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/assets")
    target = f"{unique('dup')}.example.com"
    first = sandbox.assets.create(target)
    started = time.monotonic()
    with pytest.raises(cybervault_sdk.ConflictError) as caught:
        sandbox.assets.create(target)
    assert caught.value.http_status == 409 and first.id in caught.value.message
    assert time.monotonic() - started < 2  # answered at once, not after backoff


def test_idempotency_key_replays_the_first_response(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/assets")
    key = unique("idem")
    target = f"{unique('idem')}.example.com"
    one = sandbox.assets.create(target, idempotency_key=key)
    two = sandbox.assets.create(target, idempotency_key=key)
    assert one.id == two.id


def test_restricted_keys_and_key_management(cv: Target, live: Client) -> None:
    cv.require("/v1/api_keys", "/v1/api_keys/{key_id}/revoke", "/v1/api_keys/{key_id}/roll")
    created = live.api_keys.create(type="rk", name="sdk read-only", scopes=["assets:read"])
    assert created.secret and created.secret.startswith("cv_live_rk_") and created.scopes == ["assets:read"]
    assert created.id in [k.id for k in live.api_keys.list(limit=100)]
    assert live.api_keys.retrieve(created.id).secret is None  # shown once only
    with Client(api_key=created.secret, base_url=cv.base_url) as restricted:
        restricted.assets.list()
        with pytest.raises(cybervault_sdk.PermissionDeniedError) as caught:
            restricted.assets.create("198.51.100.8")
        assert caught.value.code == "insufficient_permissions"
        rolled = live.api_keys.roll(created.id, grace_period_seconds=0)
        assert rolled.secret and rolled.secret != created.secret
        with Client(api_key=rolled.secret, base_url=cv.base_url) as new:
            new.assets.list()
            live.api_keys.revoke(rolled.id)
            with pytest.raises(cybervault_sdk.AuthenticationError):
                new.assets.list()


def test_audit_logs_record_mutations(cv: Target, live: Client) -> None:
    cv.require("/v1/audit_logs", "/v1/api_keys")
    key = live.api_keys.create(type="rk", name="audited", scopes=["assets:read"])
    # The entry is written just after the response goes out.
    entries = poll(lambda: list(live.audit_logs.list(object_id=key.id, limit=5)), what="the audit entry")
    assert all(isinstance(e, cybervault_sdk.AuditLog) for e in entries)
    entry = live.audit_logs.retrieve(entries[0].id)
    assert (entry.object_id, entry.method, entry.status_code) == (key.id, "POST", 201)


# ---- threats ------------------------------------------------------------------------------------

def test_sandbox_scan_reproduces_the_published_example(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/threats/scan", "/v1/threats/scans/{scan_id}", "/v1/threats/findings")
    scan = sandbox.threats.scan("192.168.1.0/24", depth="standard")
    assert isinstance(scan, cybervault_sdk.Scan)
    assert scan.status == "completed" and scan.threats_found == 2 and scan.scan_id.startswith("sc_")
    by_type = {f.type: f for f in scan.findings}
    assert by_type["open_port"].severity == "medium" and by_type["open_port"].cve is None
    assert by_type["vulnerable_service"].cve == "CVE-2017-5638"
    assert by_type["vulnerable_service"].severity == "critical"
    assert sandbox.scans.retrieve(scan.scan_id).status == "completed"
    assert scan.scan_id in [s.scan_id or s.id for s in sandbox.scans.list(limit=100)]
    findings = list(sandbox.findings.list(cve="CVE-2017-5638"))
    assert findings and all(f.cve == "CVE-2017-5638" for f in findings)


def test_queued_scan_cancel_and_failed_sandbox_target(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/threats/scans", "/v1/threats/scans/{scan_id}/cancel")
    scan = sandbox.scans.create("198.51.100.0/24", depth="quick")
    assert scan.id.startswith("sc_")
    done = sandbox.scans.wait(scan.id, timeout=30, poll_interval=0.1)
    assert done.status == "completed" and done.threats_found == 0  # the always-clean sandbox range
    with pytest.raises(cybervault_sdk.ConflictError) as caught:
        sandbox.scans.cancel(scan.id)
    assert caught.value.code == "scan_not_cancelable"
    failed = sandbox.threats.scan("203.0.113.13", depth="quick")
    assert failed.status == "failed" and failed.error


def test_finding_status_update(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/threats/scan", "/v1/threats/findings/{finding_id}")
    scan = sandbox.threats.scan("192.168.1.0/24")
    finding = next(f for f in scan.findings if f.type == "open_port")
    finding_id = finding.id or next(iter(sandbox.findings.list(type="open_port"))).id
    updated = sandbox.findings.update(finding_id, status="accepted_risk", reason="Bastion host, reviewed")
    assert updated.status == "accepted_risk"
    assert sandbox.findings.retrieve(finding_id).status == "accepted_risk"
    with pytest.raises(cybervault_sdk.InvalidRequestError):
        sandbox.findings.update(finding_id, status="not-a-status")


def test_scan_schedules(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/threats/schedules", "/v1/threats/schedules/{schedule_id}")
    schedule = sandbox.scan_schedules.create(target="198.51.100.0/24", depth="quick", interval_minutes=60)
    assert schedule.id and sandbox.scan_schedules.retrieve(schedule.id).interval_minutes == 60
    assert schedule.id in [s.id for s in sandbox.scan_schedules.list()]
    assert sandbox.scan_schedules.delete(schedule.id).deleted is True


def test_live_scan_outside_the_registered_assets_is_refused(cv: Target, live: Client) -> None:
    # The scope guard answers before any packet is sent: 203.0.113.0/24 is never an asset here.
    cv.require("/v1/threats/scans")
    with pytest.raises(cybervault_sdk.PermissionDeniedError) as caught:
        live.scans.create("203.0.113.5")
    assert caught.value.code == "target_out_of_scope"


# ---- cves, compliance ---------------------------------------------------------------------------

def test_cves(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/cves", "/v1/cves/{cve_id}")
    cve = sandbox.cves.retrieve("CVE-2017-5638")
    assert isinstance(cve, cybervault_sdk.Cve) and cve.id == "CVE-2017-5638"
    assert cve.kev is True and cve.cvss is not None and cve.cvss >= 9.0 and cve.severity == "critical"
    results = sandbox.cves.search(kev=True, limit=5)
    assert len(results.data) == 5 and results.has_more
    assert all(item.id.startswith("CVE-") for item in results.to_list(max_items=12))
    with pytest.raises(cybervault_sdk.NotFoundError):
        sandbox.cves.retrieve("CVE-1999-99999")


def test_compliance(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/compliance/posture", "/v1/compliance/frameworks", "/v1/compliance/controls",
               "/v1/compliance/attestations", "/v1/compliance/export")
    posture = sandbox.compliance.posture(frameworks=["soc2", "gdpr"])
    assert isinstance(posture, cybervault_sdk.CompliancePosture)
    assert {f.id for f in posture.frameworks} == {"soc2", "gdpr"}
    soc2 = posture.framework("soc2")
    assert soc2 is not None and isinstance(soc2, cybervault_sdk.ComplianceFramework)
    assert soc2.score is not None and 0 <= soc2.score <= 100 and soc2.requirements
    frameworks = sandbox.compliance.frameworks()
    assert {"soc2", "iso27001", "hipaa", "gdpr"} <= {f.id for f in frameworks}
    controls = sandbox.compliance.controls()
    assert len(controls) >= 20 and all(isinstance(c, cybervault_sdk.ComplianceControl) for c in controls)
    assert all(c.mappings for c in controls)
    attestation = sandbox.compliance.attestations.create(control="SECURITY-POLICY", status="pass",
                                                         attested_by="ciso@example.com")
    assert sandbox.compliance.attestations.retrieve(attestation.id).control == "SECURITY-POLICY"
    assert attestation.id in [a.id for a in sandbox.compliance.attestations.list()]
    assert sandbox.compliance.attestations.delete(attestation.id).id == attestation.id
    csv_text = sandbox.compliance.export(format="csv", frameworks="soc2")
    assert isinstance(csv_text, str) and "CC7.1" in csv_text
    oscal = sandbox.compliance.export(format="oscal")
    assert isinstance(oscal, dict) and "assessment-results" in oscal
    with pytest.raises(cybervault_sdk.InvalidRequestError) as caught:
        sandbox.compliance.posture(frameworks="pci")
    assert caught.value.param == "frameworks"


# ---- webhooks and events ------------------------------------------------------------------------

def test_webhook_endpoint_delivery_verifies_with_the_sdk(cv: Target, live: Client) -> None:
    cv.require("/v1/webhook_endpoints", "/v1/webhook_endpoints/{endpoint_id}/test",
               "/v1/webhook_endpoints/{endpoint_id}/rotate_secret")
    with WebhookReceiver() as receiver:
        endpoint = live.webhook_endpoints.create(url=receiver.url, enabled_events=["*"], description="sdk")
        assert endpoint.secret and endpoint.secret.startswith("whsec_")
        assert live.webhook_endpoints.secret(endpoint.id).secret == endpoint.secret
        delivery = live.webhook_endpoints.test(endpoint.id)
        assert isinstance(delivery, cybervault_sdk.WebhookDelivery) and delivery.id.startswith("wd_")
        got = poll(lambda: receiver.deliveries, what="the webhook.test delivery")[0]
        event = cybervault_sdk.webhooks.construct_event(got.body, got.headers, endpoint.secret)
        assert event.type == "webhook.test"
        assert cybervault_sdk.webhooks.verify(got.body, got.headers["x-cybervault-signature"], endpoint.secret)
        with pytest.raises(cybervault_sdk.WebhookVerificationError):
            cybervault_sdk.webhooks.verify(got.body + b" ", got.headers, endpoint.secret)

        rotated = live.webhook_endpoints.rotate_secret(endpoint.id)
        assert rotated.secret and rotated.secret != endpoint.secret
        live.webhook_endpoints.test(endpoint.id)
        second = poll(lambda: receiver.deliveries[1:], what="the second delivery")[0]
        # During the overlap both the new and the old secret verify.
        assert cybervault_sdk.webhooks.verify(second.body, second.headers, rotated.secret)
        assert cybervault_sdk.webhooks.verify(second.body, second.headers, endpoint.secret)

        poll(lambda: live.webhook_endpoints.deliveries(endpoint.id).data, what="deliveries listed")
        first_delivery = live.webhook_deliveries.retrieve(delivery.id)
        assert first_delivery.status in ("succeeded", "pending")
        updated = live.webhook_endpoints.update(endpoint.id, description="renamed")
        assert updated.description == "renamed"
        assert live.webhook_endpoints.delete(endpoint.id).deleted is True


def test_events(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/events", "/v1/events/{event_id}", "/v1/threats/scan")
    sandbox.threats.scan("192.168.1.0/24")
    events = poll(lambda: sandbox.events.list(type="scan.completed", limit=5).data, what="scan.completed")
    assert isinstance(events[0], cybervault_sdk.Event) and events[0].data_object.get("status") == "completed"
    assert sandbox.events.retrieve(events[0].id).type == "scan.completed"


# ---- incidents ----------------------------------------------------------------------------------

def test_incidents(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/incidents", "/v1/incidents/{incident_id}", "/v1/incidents/{incident_id}/comments",
               "/v1/incidents/{incident_id}/timeline")
    tag = unique("inc")
    incident = sandbox.incidents.create(title="Struts RCE on web-1", severity="critical",
                                        description="CVE-2017-5638 exploited on 198.51.100.20",
                                        affected_systems=["198.51.100.20"], tags=[tag])
    assert isinstance(incident, cybervault_sdk.Incident) and incident.id.startswith("inc_")
    assert incident.triage and incident.priority in ("P1", "P2", "P3", "P4") and incident.resolve_by
    assert sandbox.incidents.retrieve(incident.id).title == "Struts RCE on web-1"
    assert [i.id for i in sandbox.incidents.list(tag=tag)] == [incident.id]
    updated = sandbox.incidents.update(incident.id, status="investigating", assignee="alice")
    assert (updated.status, updated.assignee) == ("investigating", "alice")
    comment = sandbox.incidents.comment(incident.id, "Isolated the host.")
    assert comment.id and comment.incident == incident.id and comment.body == "Isolated the host."
    timeline = list(sandbox.incidents.timeline(incident.id))
    assert len(timeline) >= 2 and all(isinstance(t, cybervault_sdk.TimelineEntry) for t in timeline)
    with pytest.raises(cybervault_sdk.InvalidRequestError) as caught:
        sandbox.incidents.create(title="", severity="bogus", description="x")
    assert caught.value.param in ("title", "severity")


def test_notification_channels_and_triage_rules(cv: Target, sandbox: Client) -> None:
    cv.require("/v1/notification_channels", "/v1/notification_channels/{channel_id}", "/v1/triage_rules",
               "/v1/triage_rules/{rule_id}")
    with WebhookReceiver() as receiver:
        channel = sandbox.notification_channels.create(type="webhook", name="sdk", url=receiver.url)
        assert isinstance(channel, cybervault_sdk.NotificationChannel) and channel.id.startswith("nc_")
        assert sandbox.notification_channels.retrieve(channel.id).name == "sdk"
        assert channel.id in [c.id for c in sandbox.notification_channels.list()]
        rule = sandbox.triage_rules.create(name="critical to oncall", conditions={"severity": ["critical"]},
                                           actions={"assign": "oncall", "channels": [channel.id]})
        assert isinstance(rule, cybervault_sdk.TriageRule) and rule.id
        assert sandbox.triage_rules.update(rule.id, enabled=False).enabled is False
        assert rule.id in [r.id for r in sandbox.triage_rules.list()]
        assert sandbox.triage_rules.delete(rule.id).deleted is True
        assert sandbox.notification_channels.delete(channel.id).deleted is True


# ---- retries against the real server ------------------------------------------------------------

def test_a_lost_response_is_retried_and_replayed_not_repeated(cv: Target, flaky: FlakyServer) -> None:
    # A proxy passes the POST to the real server, then cuts the connection before the client reads the
    # answer. The SDK retries with the same Idempotency-Key and the server replays the stored response.
    cv.require("/v1/assets")
    tag = unique("replay")
    before = len(flaky.app.requests("POST", "/v1/assets"))
    flaky.app.script("POST", "/v1/assets", Action(forward_to=cv.base_url, drop=True), Action(forward_to=cv.base_url))
    with Client(api_key=cv.test_key, base_url=flaky.url, max_retries=2) as client:
        asset = client.assets.create(f"{unique('replay')}.example.com", tags=[tag])
    first, second = flaky.app.requests("POST", "/v1/assets")[before:]
    assert first.idempotency_key and first.idempotency_key == second.idempotency_key
    assert flaky.app.upstream_headers[-1].get("idempotent-replayed") == "true"
    with Client(api_key=cv.test_key, base_url=cv.base_url) as direct:
        assert [a.id for a in direct.assets.list(tag=tag)] == [asset.id]  # created exactly once
