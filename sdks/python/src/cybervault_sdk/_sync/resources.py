"""Resources of the sync client.

GENERATED from `_async/resources.py` by `scripts/unasync.py`: edit that file, not this one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .._base import RequestSpec, clean_body, clean_params, resolve_options
from ..errors import ScanTimeoutError
from ..models import (
    ApiKey,
    Asset,
    Attestation,
    AuditLog,
    ComplianceControl,
    ComplianceFramework,
    CompliancePosture,
    Cve,
    CyberVaultObject,
    DeletedObject,
    Event,
    Finding,
    Incident,
    IncidentComment,
    NotificationChannel,
    PostureSnapshot,
    Scan,
    ScanSchedule,
    TimelineEntry,
    TriageRule,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from ..pagination import Page
from .client import SyncAPIClient

T = TypeVar("T", bound=CyberVaultObject)

SERVER_MAX_WAIT = 60  # the seed endpoint waits at most this long per request


def _path_id(value: str) -> str:
    """Object ids go into URLs; refuse anything that could change the path."""
    if not value or any(c in value for c in "/?#%\\ ") or value in (".", ".."):
        raise ValueError(f"not an object id: {value!r}")
    return value


class Resource:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def _call(self, method: str, path: str, model: type[T], *, params: Mapping[str, Any] | None = None,
                    body: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
                    idempotent: bool = True, timeout: float | None = None) -> T:
        payload = self._client.request(RequestSpec(
            method, path, params=clean_params(params), body=clean_body(body) if body is not None else None,
            idempotency_key=idempotency_key, idempotent=idempotent, timeout=timeout))
        return model.from_dict(payload)


class _Crud(Resource):
    """create / retrieve / list / update / delete on `/v1/<collection>`."""

    path = ""
    model: type[CyberVaultObject] = CyberVaultObject

    def _create(self, body: Mapping[str, Any], idempotency_key: str | None) -> Any:
        return self._call("POST", self.path, self.model, body=body, idempotency_key=idempotency_key)

    def _retrieve(self, object_id: str) -> Any:
        return self._call("GET", f"{self.path}/{_path_id(object_id)}", self.model)

    def _update(self, object_id: str, body: Mapping[str, Any]) -> Any:
        return self._call("PATCH", f"{self.path}/{_path_id(object_id)}", self.model, body=body)

    def _delete(self, object_id: str) -> DeletedObject:
        return self._call("DELETE", f"{self.path}/{_path_id(object_id)}", DeletedObject)


# ---- threats ---------------------------------------------------------------------------------------

class Threats(Resource):
    def scan(self, target_ip: str, *, depth: str | None = None, include_vulns: bool | None = None,
                   timeout: float = 300.0, poll_interval: float = 1.0) -> Scan:
        """Run a scan and wait for it to finish (the seed's `GET /v1/threats/scan`).

        The server holds the request up to `wait` seconds; if the scan is still running the SDK polls
        `GET /v1/threats/scans/{id}` until it completes, fails or is canceled, or `timeout` passes
        (then `ScanTimeoutError` carries the scan as last seen). A failed scan is returned, not raised:
        check `scan.status` and `scan.error`.
        """
        deadline = time.monotonic() + timeout
        wait = max(0, min(SERVER_MAX_WAIT, int(timeout)))
        # This GET starts a scan, so it is retried only when the request never reached the server.
        scan = self._call("GET", "/v1/threats/scan", Scan, idempotent=False, timeout=wait + 30.0,
                                params={"target_ip": target_ip, "depth": depth, "include_vulns": include_vulns,
                                        "wait": wait})
        scan_id = scan.scan_id or scan.id
        while not scan.is_finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or scan_id is None:
                raise ScanTimeoutError(f"Scan {scan_id} still {scan.status} after {timeout:.0f}s.", scan=scan)
            self._client.sleep(min(poll_interval, remaining))
            scan = self._call("GET", f"/v1/threats/scans/{_path_id(scan_id)}", Scan)
        return scan


class Scans(Resource):
    def create(self, target_ip: str, *, depth: str | None = None, include_vulns: bool | None = None,
                     idempotency_key: str | None = None, **extra: Any) -> Scan:
        """Queue a scan (202) and return at once; see `wait()` or `Threats.scan()` to wait for it."""
        body = {"target_ip": target_ip, "depth": depth, "include_vulns": include_vulns, **extra}
        return self._call("POST", "/v1/threats/scans", Scan, body=body, idempotency_key=idempotency_key)

    def retrieve(self, scan_id: str) -> Scan:
        return self._call("GET", f"/v1/threats/scans/{_path_id(scan_id)}", Scan)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, status: str | None = None, **filters: Any) -> Page[Scan]:
        return self._client.pager("/v1/threats/scans", {"limit": limit, "starting_after": starting_after,
                                                         "ending_before": ending_before, "status": status,
                                                         **filters}, Scan)

    def cancel(self, scan_id: str, *, idempotency_key: str | None = None) -> Scan:
        return self._call("POST", f"/v1/threats/scans/{_path_id(scan_id)}/cancel", Scan,
                                idempotency_key=idempotency_key)

    def wait(self, scan_id: str, *, timeout: float = 300.0, poll_interval: float = 1.0) -> Scan:
        """Poll a scan until it completes, fails or is canceled."""
        deadline = time.monotonic() + timeout
        scan = self.retrieve(scan_id)
        while not scan.is_finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScanTimeoutError(f"Scan {scan_id} still {scan.status} after {timeout:.0f}s.", scan=scan)
            self._client.sleep(min(poll_interval, remaining))
            scan = self.retrieve(scan_id)
        return scan


class Findings(Resource):
    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, severity: str | None = None, type: str | None = None,
             host: str | None = None, cve: str | None = None, status: str | None = None,
             **filters: Any) -> Page[Finding]:
        return self._client.pager("/v1/threats/findings", {
            "limit": limit, "starting_after": starting_after, "ending_before": ending_before,
            "severity": severity, "type": type, "host": host, "cve": cve, "status": status, **filters}, Finding)

    def retrieve(self, finding_id: str) -> Finding:
        return self._call("GET", f"/v1/threats/findings/{_path_id(finding_id)}", Finding)

    def update(self, finding_id: str, *, status: str | None = None, reason: str | None = None,
                     **fields: Any) -> Finding:
        """Set a finding's status: open, resolved or accepted_risk (which needs a `reason`)."""
        return self._call("PATCH", f"/v1/threats/findings/{_path_id(finding_id)}", Finding,
                                body={"status": status, "reason": reason, **fields})


class ScanSchedules(_Crud):
    path = "/v1/threats/schedules"
    model = ScanSchedule

    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> ScanSchedule:
        """Fields: `target` or `asset_ids`, `depth`, `include_vulns`, `interval_minutes` (>= 15)."""
        return self._create(fields, idempotency_key)

    def retrieve(self, schedule_id: str) -> ScanSchedule:
        return self._retrieve(schedule_id)

    def list(self, *, limit: int | None = None, **params: Any) -> Page[ScanSchedule]:
        return self._client.pager(self.path, {"limit": limit, **params}, ScanSchedule)

    def delete(self, schedule_id: str) -> DeletedObject:
        return self._delete(schedule_id)


# ---- assets, cves ----------------------------------------------------------------------------------

class Assets(_Crud):
    path = "/v1/assets"
    model = Asset

    def create(self, target: str, *, name: str | None = None, tags: Sequence[str] | None = None,
                     criticality: str | None = None, environment: str | None = None,
                     owner: str | None = None, idempotency_key: str | None = None, **extra: Any) -> Asset:
        body = {"target": target, "name": name, "tags": list(tags) if tags is not None else None,
                "criticality": criticality, "environment": environment, "owner": owner, **extra}
        return self._create(body, idempotency_key)

    def retrieve(self, asset_id: str) -> Asset:
        return self._retrieve(asset_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, tag: str | None = None, criticality: str | None = None,
             environment: str | None = None, **filters: Any) -> Page[Asset]:
        return self._client.pager(self.path, {
            "limit": limit, "starting_after": starting_after, "ending_before": ending_before, "tag": tag,
            "criticality": criticality, "environment": environment, **filters}, Asset)

    def update(self, asset_id: str, **fields: Any) -> Asset:
        return self._update(asset_id, fields)

    def delete(self, asset_id: str) -> DeletedObject:
        return self._delete(asset_id)


class Cves(Resource):
    def retrieve(self, cve_id: str) -> Cve:
        return self._call("GET", f"/v1/cves/{_path_id(cve_id)}", Cve)

    def search(self, *, product: str | None = None, version: str | None = None, cpe: str | None = None,
               kev: bool | None = None, limit: int | None = None, starting_after: str | None = None,
               **filters: Any) -> Page[Cve]:
        return self._client.pager("/v1/cves", {"product": product, "version": version, "cpe": cpe, "kev": kev,
                                               "limit": limit, "starting_after": starting_after, **filters}, Cve)

    list = search


# ---- incidents -------------------------------------------------------------------------------------

class Incidents(_Crud):
    path = "/v1/incidents"
    model = Incident

    def create(self, *, title: str, severity: str, description: str,
                     affected_systems: Sequence[str] | None = None, idempotency_key: str | None = None,
                     **extra: Any) -> Incident:
        """The seed's fields; optional extras: detected_at, personal_data_breach, tags, external_id."""
        body = {"title": title, "severity": severity, "description": description,
                "affected_systems": list(affected_systems) if affected_systems is not None else None, **extra}
        return self._create(body, idempotency_key)

    def retrieve(self, incident_id: str) -> Incident:
        return self._retrieve(incident_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, status: str | None = None, severity: str | None = None,
             priority: str | None = None, assignee: str | None = None, tag: str | None = None,
             **filters: Any) -> Page[Incident]:
        return self._client.pager(self.path, {
            "limit": limit, "starting_after": starting_after, "ending_before": ending_before, "status": status,
            "severity": severity, "priority": priority, "assignee": assignee, "tag": tag, **filters}, Incident)

    def update(self, incident_id: str, **fields: Any) -> Incident:
        """Fields: status, severity, assignee, team, tags, root_cause, lessons_learned…"""
        return self._update(incident_id, fields)

    def comment(self, incident_id: str, body: str, *, idempotency_key: str | None = None) -> IncidentComment:
        return self._call("POST", f"{self.path}/{_path_id(incident_id)}/comments", IncidentComment,
                                body={"body": body}, idempotency_key=idempotency_key)

    def timeline(self, incident_id: str, *, limit: int | None = None,
                 starting_after: str | None = None) -> Page[TimelineEntry]:
        return self._client.pager(f"{self.path}/{_path_id(incident_id)}/timeline",
                                  {"limit": limit, "starting_after": starting_after}, TimelineEntry)


class _SimpleCrud(_Crud):
    """Collections whose create/update take the API's fields as keyword arguments."""

    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> Any:
        return self._create(fields, idempotency_key)

    def retrieve(self, object_id: str) -> Any:
        return self._retrieve(object_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, **filters: Any) -> Any:
        return self._client.pager(self.path, {"limit": limit, "starting_after": starting_after,
                                              "ending_before": ending_before, **filters}, self.model)

    def update(self, object_id: str, **fields: Any) -> Any:
        return self._update(object_id, fields)

    def delete(self, object_id: str) -> DeletedObject:
        return self._delete(object_id)


class NotificationChannels(_SimpleCrud):
    """Fields: type (webhook, slack, email, pagerduty, teams), name, url, routing_key, smtp_*, recipients,
    min_severity, min_priority, event_types."""

    path = "/v1/notification_channels"
    model = NotificationChannel

    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> NotificationChannel:
        return self._create(fields, idempotency_key)

    def retrieve(self, channel_id: str) -> NotificationChannel:
        return self._retrieve(channel_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, **filters: Any) -> Page[NotificationChannel]:
        return self._client.pager(self.path, {"limit": limit, "starting_after": starting_after,
                                              "ending_before": ending_before, **filters}, NotificationChannel)

    def update(self, channel_id: str, **fields: Any) -> NotificationChannel:
        return self._update(channel_id, fields)

    def test(self, channel_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Send a test message through the channel."""
        result = self._call("POST", f"{self.path}/{_path_id(channel_id)}/test", CyberVaultObject,
                                  idempotency_key=idempotency_key)
        return result.to_dict()


class TriageRules(_SimpleCrud):
    """Fields: name, position, enabled, conditions {severity, priority, asset_tags, asset_criticality, cve,
    kev, text}, actions {assign, team, channels, priority}, stop_processing."""

    path = "/v1/triage_rules"
    model = TriageRule

    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> TriageRule:
        return self._create(fields, idempotency_key)

    def retrieve(self, rule_id: str) -> TriageRule:
        return self._retrieve(rule_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, **filters: Any) -> Page[TriageRule]:
        return self._client.pager(self.path, {"limit": limit, "starting_after": starting_after,
                                              "ending_before": ending_before, **filters}, TriageRule)

    def update(self, rule_id: str, **fields: Any) -> TriageRule:
        return self._update(rule_id, fields)


# ---- compliance ------------------------------------------------------------------------------------

class Attestations(_SimpleCrud):
    path = "/v1/compliance/attestations"
    model = Attestation

    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> Attestation:
        return self._create(fields, idempotency_key)

    def retrieve(self, attestation_id: str) -> Attestation:
        return self._retrieve(attestation_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, **filters: Any) -> Page[Attestation]:
        return self._client.pager(self.path, {"limit": limit, "starting_after": starting_after,
                                              "ending_before": ending_before, **filters}, Attestation)


def _frameworks(value: str | Sequence[str] | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return ",".join(value)


class Compliance(Resource):
    def __init__(self, client: SyncAPIClient) -> None:
        super().__init__(client)
        self.attestations = Attestations(client)

    def posture(self, *, frameworks: str | Sequence[str] | None = None) -> CompliancePosture:
        """Posture across soc2, iso27001, hipaa, gdpr (all by default)."""
        return self._call("GET", "/v1/compliance/posture", CompliancePosture,
                                params={"frameworks": _frameworks(frameworks)})

    def frameworks(self) -> list[ComplianceFramework]:
        payload = self._client.request(RequestSpec("GET", "/v1/compliance/frameworks"))
        return [ComplianceFramework.from_dict(item) for item in payload.get("data", [])]

    def controls(self, *, framework: str | None = None) -> list[ComplianceControl]:
        payload = self._client.request(RequestSpec("GET", "/v1/compliance/controls",
                                                         params=clean_params({"framework": framework})))
        return [ComplianceControl.from_dict(item) for item in payload.get("data", [])]

    def history(self, *, limit: int | None = None,
                starting_after: str | None = None) -> Page[PostureSnapshot]:
        return self._client.pager("/v1/compliance/posture/history",
                                  {"limit": limit, "starting_after": starting_after}, PostureSnapshot)

    def export(self, *, format: str = "oscal", frameworks: str | Sequence[str] | None = None) -> Any:
        """OSCAL assessment-results as a dict (`format="oscal"`) or CSV text (`format="csv"`)."""
        return self._client.request(RequestSpec("GET", "/v1/compliance/export", params=clean_params(
            {"format": format, "frameworks": _frameworks(frameworks)})))


# ---- webhooks, events ------------------------------------------------------------------------------

class WebhookEndpoints(_SimpleCrud):
    path = "/v1/webhook_endpoints"
    model = WebhookEndpoint

    def create(self, *, url: str, enabled_events: Sequence[str] | None = None,
                     description: str | None = None, idempotency_key: str | None = None,
                     **extra: Any) -> WebhookEndpoint:
        """The response's `secret` (`whsec_…`) is what `cybervault_sdk.webhooks.verify()` needs."""
        body = {"url": url, "enabled_events": list(enabled_events) if enabled_events is not None else None,
                "description": description, **extra}
        return self._create(body, idempotency_key)

    def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        return self._retrieve(endpoint_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, **filters: Any) -> Page[WebhookEndpoint]:
        return self._client.pager(self.path, {"limit": limit, "starting_after": starting_after,
                                              "ending_before": ending_before, **filters}, WebhookEndpoint)

    def update(self, endpoint_id: str, **fields: Any) -> WebhookEndpoint:
        return self._update(endpoint_id, fields)

    def secret(self, endpoint_id: str) -> WebhookSecret:
        return self._call("GET", f"{self.path}/{_path_id(endpoint_id)}/secret", WebhookSecret)

    def rotate_secret(self, endpoint_id: str, *, idempotency_key: str | None = None) -> WebhookEndpoint:
        return self._call("POST", f"{self.path}/{_path_id(endpoint_id)}/rotate_secret", WebhookEndpoint,
                                idempotency_key=idempotency_key)

    def test(self, endpoint_id: str, *, idempotency_key: str | None = None) -> WebhookDelivery:
        """Send a `webhook.test` event to this endpoint only; returns the queued delivery."""
        return self._call("POST", f"{self.path}/{_path_id(endpoint_id)}/test", WebhookDelivery,
                                idempotency_key=idempotency_key)

    def deliveries(self, endpoint_id: str, *, limit: int | None = None,
                   starting_after: str | None = None, **filters: Any) -> Page[WebhookDelivery]:
        return self._client.pager(f"{self.path}/{_path_id(endpoint_id)}/deliveries",
                                  {"limit": limit, "starting_after": starting_after, **filters}, WebhookDelivery)


class WebhookDeliveries(Resource):
    def retrieve(self, delivery_id: str) -> WebhookDelivery:
        return self._call("GET", f"/v1/webhook_deliveries/{_path_id(delivery_id)}", WebhookDelivery)

    def retry(self, delivery_id: str, *, idempotency_key: str | None = None) -> WebhookDelivery:
        return self._call("POST", f"/v1/webhook_deliveries/{_path_id(delivery_id)}/retry", WebhookDelivery,
                                idempotency_key=idempotency_key)


class Events(Resource):
    def retrieve(self, event_id: str) -> Event:
        return self._call("GET", f"/v1/events/{_path_id(event_id)}", Event)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, type: str | None = None, **filters: Any) -> Page[Event]:
        return self._client.pager("/v1/events", {"limit": limit, "starting_after": starting_after,
                                                 "ending_before": ending_before, "type": type, **filters}, Event)


# ---- platform --------------------------------------------------------------------------------------

class ApiKeys(Resource):
    def create(self, *, type: str | None = None, name: str | None = None,
                     scopes: Sequence[str] | None = None, expires_at: str | None = None,
                     mode: str | None = None, idempotency_key: str | None = None) -> ApiKey:
        """The plaintext `secret` is in this response only."""
        body = {"type": type, "name": name, "scopes": list(scopes) if scopes is not None else None,
                "expires_at": expires_at, "mode": mode}
        return self._call("POST", "/v1/api_keys", ApiKey, body=body, idempotency_key=idempotency_key)

    def retrieve(self, key_id: str) -> ApiKey:
        return self._call("GET", f"/v1/api_keys/{_path_id(key_id)}", ApiKey)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, **filters: Any) -> Page[ApiKey]:
        return self._client.pager("/v1/api_keys", {"limit": limit, "starting_after": starting_after,
                                                   "ending_before": ending_before, **filters}, ApiKey)

    def revoke(self, key_id: str, *, idempotency_key: str | None = None) -> ApiKey:
        return self._call("POST", f"/v1/api_keys/{_path_id(key_id)}/revoke", ApiKey,
                                idempotency_key=idempotency_key)

    def roll(self, key_id: str, *, grace_period_seconds: int | None = None,
                   idempotency_key: str | None = None) -> ApiKey:
        """A new secret for the key; the old one keeps working for `grace_period_seconds`."""
        return self._call("POST", f"/v1/api_keys/{_path_id(key_id)}/roll", ApiKey,
                                body={"grace_period_seconds": grace_period_seconds}, idempotency_key=idempotency_key)


class AuditLogs(Resource):
    def retrieve(self, audit_log_id: str) -> AuditLog:
        return self._call("GET", f"/v1/audit_logs/{_path_id(audit_log_id)}", AuditLog)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, action: str | None = None, object_id: str | None = None,
             **filters: Any) -> Page[AuditLog]:
        return self._client.pager("/v1/audit_logs", {
            "limit": limit, "starting_after": starting_after, "ending_before": ending_before, "action": action,
            "object_id": object_id, **filters}, AuditLog)


# ---- the client ------------------------------------------------------------------------------------

class Client(SyncAPIClient):
    """The CyberVault API client.

    `api_key` defaults to `CYBERVAULT_API_KEY`, `base_url` to `CYBERVAULT_BASE_URL` (else
    http://127.0.0.1:8000). Failed requests are retried `max_retries` times (default 2) with
    exponential backoff and jitter; a server's Retry-After / X-RateLimit-Reset is honoured up to
    `max_retry_wait` seconds.
    """

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 timeout: float | None = None, max_retries: int | None = None,
                 max_retry_wait: float | None = None, default_headers: Mapping[str, str] | None = None,
                 http_client: httpx.Client | None = None) -> None:
        super().__init__(resolve_options(api_key, base_url, timeout, max_retries, max_retry_wait, default_headers),
                         http_client)
        self.threats = Threats(self)
        self.scans = Scans(self)
        self.findings = Findings(self)
        self.scan_schedules = ScanSchedules(self)
        self.assets = Assets(self)
        self.cves = Cves(self)
        self.incidents = Incidents(self)
        self.notification_channels = NotificationChannels(self)
        self.triage_rules = TriageRules(self)
        self.compliance = Compliance(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.webhook_deliveries = WebhookDeliveries(self)
        self.events = Events(self)
        self.api_keys = ApiKeys(self)
        self.audit_logs = AuditLogs(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()
