"""Compliance, webhooks, events, API keys and audit logs (sync).

GENERATED from `_async/platform.py` by `scripts/unasync.py`: edit that file, not this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._base import RequestSpec, clean_params
from ..models import (
    ApiKey,
    Attestation,
    AuditLog,
    ComplianceControl,
    ComplianceFramework,
    CompliancePosture,
    DeletedObject,
    Event,
    PostureSnapshot,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from ..pagination import Page
from ._resource import Resource, _Crud, _path_id
from .client import SyncAPIClient


class Attestations(_Crud[Attestation]):
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

    def delete(self, attestation_id: str) -> DeletedObject:
        return self._delete(attestation_id)


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

class WebhookEndpoints(_Crud[WebhookEndpoint]):
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

    def delete(self, endpoint_id: str) -> DeletedObject:
        return self._delete(endpoint_id)

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
