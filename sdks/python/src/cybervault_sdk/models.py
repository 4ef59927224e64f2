"""Typed response objects.

Each model names the fields the API documents; any other field the server sends is kept in `raw` and is
also readable as an attribute or with `obj["field"]`, so a newer server never breaks an older SDK.
Timestamps are ISO-8601 UTC strings as sent (`2025-01-15T08:32:11Z`); `parse_timestamp()` converts one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

__all__ = [
    "CyberVaultObject", "Scan", "Finding", "ScanSchedule", "Asset", "Cve", "Incident", "IncidentComment",
    "TimelineEntry", "NotificationChannel", "TriageRule", "CompliancePosture", "ComplianceFramework",
    "ComplianceControl", "Attestation", "PostureSnapshot", "WebhookEndpoint", "WebhookSecret",
    "WebhookDelivery", "Event", "ApiKey", "AuditLog", "DeletedObject", "parse_timestamp",
]

M = TypeVar("M", bound="CyberVaultObject")


def parse_timestamp(value: str | None) -> datetime | None:
    """`2025-01-15T08:32:11Z` → an aware UTC datetime (None stays None)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass
class CyberVaultObject:
    id: str | None = None
    object: str | None = None
    livemode: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # Fields holding other models: name → model class (a dict) or list of model (a list of dicts).
    _nested: ClassVar[dict[str, type[CyberVaultObject]]] = {}
    _nested_lists: ClassVar[dict[str, type[CyberVaultObject]]] = {}

    @classmethod
    def from_dict(cls: type[M], data: Mapping[str, Any]) -> M:
        known = {f.name for f in fields(cls) if f.name != "raw"}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for name, model in cls._nested.items():
            if isinstance(values.get(name), Mapping):
                values[name] = model.from_dict(values[name])
        for name, model in cls._nested_lists.items():
            if isinstance(values.get(name), list):
                values[name] = [model.from_dict(v) if isinstance(v, Mapping) else v for v in values[name]]
        return cls(**values, raw=dict(data))

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not dataclass fields: expose fields this SDK does not know yet.
        if name.startswith("__") or name == "raw":
            raise AttributeError(name)
        raw = self.__dict__.get("raw") or {}
        if name in raw:
            return raw[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The object exactly as the server sent it."""
        return dict(self.raw)


@dataclass
class Finding(CyberVaultObject):
    type: str | None = None
    severity: str | None = None
    details: str | None = None
    cve: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str | None = None
    service: dict[str, Any] | None = None
    cvss: float | None = None
    kev: bool | None = None
    epss: float | None = None
    confidence: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    status: str | None = None
    status_reason: str | None = None
    scan_id: str | None = None


@dataclass
class Scan(CyberVaultObject):
    scan_id: str | None = None
    status: str | None = None
    threats_found: int | None = None
    findings: list[Finding] = field(default_factory=list)
    timestamp: str | None = None
    target: str | None = None
    depth: str | None = None
    include_vulns: bool | None = None
    progress: dict[str, Any] | None = None
    error: Any | None = None
    created: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    schedule_id: str | None = None

    _nested_lists: ClassVar[dict[str, type[CyberVaultObject]]] = {"findings": Finding}

    TERMINAL: ClassVar[frozenset[str]] = frozenset({"completed", "failed", "canceled"})

    @property
    def is_finished(self) -> bool:
        return self.status in self.TERMINAL


@dataclass
class ScanSchedule(CyberVaultObject):
    target: str | None = None
    asset_ids: list[str] | None = None
    depth: str | None = None
    include_vulns: bool | None = None
    interval_minutes: int | None = None
    active: bool | None = None
    next_run_at: str | None = None
    last_run_at: str | None = None
    last_scan_ids: list[str] | None = None
    last_error: str | None = None
    created: str | None = None


@dataclass
class Asset(CyberVaultObject):
    target: str | None = None
    kind: str | None = None
    name: str | None = None
    tags: list[str] | None = None
    criticality: str | None = None
    environment: str | None = None
    owner: str | None = None
    last_scanned_at: str | None = None
    created: str | None = None
    updated: str | None = None


@dataclass
class Cve(CyberVaultObject):
    """`id` is the CVE id (`CVE-2017-5638`)."""

    description: str | None = None
    published: str | None = None
    last_modified: str | None = None
    cvss: float | None = None
    severity: str | None = None
    cvss_v3_1: dict[str, Any] | None = None
    cvss_v4_0: dict[str, Any] | None = None
    cwes: list[str] | None = None
    kev: bool | None = None
    kev_details: dict[str, Any] | None = None
    epss: float | None = None
    epss_percentile: float | None = None
    references: list[Any] | None = None
    source_url: str | None = None
    confidence: str | None = None


@dataclass
class Incident(CyberVaultObject):
    title: str | None = None
    severity: str | None = None
    description: str | None = None
    affected_systems: list[str] | None = None
    status: str | None = None
    priority: str | None = None
    priority_score: float | None = None
    triage: dict[str, Any] | None = None
    assignee: str | None = None
    team: str | None = None
    tags: list[str] | None = None
    external_id: str | None = None
    likely_duplicate_of: str | None = None
    detected_at: str | None = None
    acknowledge_by: str | None = None
    resolve_by: str | None = None
    acknowledged_at: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    sla_breached: bool | None = None
    personal_data_breach: bool | None = None
    notify_authority_by: str | None = None
    authority_notified_at: str | None = None
    root_cause: str | None = None
    lessons_learned: str | None = None
    created: str | None = None
    updated: str | None = None


@dataclass
class IncidentComment(CyberVaultObject):
    incident: str | None = None
    body: str | None = None
    author: str | None = None
    created: str | None = None


@dataclass
class TimelineEntry(CyberVaultObject):
    incident: str | None = None
    type: str | None = None
    actor: Any | None = None
    message: str | None = None
    data: dict[str, Any] | None = None
    created: str | None = None


@dataclass
class NotificationChannel(CyberVaultObject):
    """Type-specific settings (`url`, `routing_key`, `smtp_host`, `recipients`…) are attributes too;
    credentials come back masked."""

    type: str | None = None
    name: str | None = None
    status: str | None = None
    disabled_reason: str | None = None
    min_severity: str | None = None
    min_priority: str | None = None
    event_types: list[str] | None = None
    created: str | None = None
    updated: str | None = None


@dataclass
class TriageRule(CyberVaultObject):
    name: str | None = None
    position: int | None = None
    enabled: bool | None = None
    conditions: dict[str, Any] | None = None
    actions: dict[str, Any] | None = None
    stop_processing: bool | None = None
    created: str | None = None
    updated: str | None = None


@dataclass
class ComplianceFramework(CyberVaultObject):
    """In a posture, also `score` (0–100), `counts` per status and per-requirement results."""

    name: str | None = None
    version: str | None = None
    publisher: str | None = None
    requirement_count: int | None = None
    score: float | None = None
    counts: dict[str, int] | None = None
    requirements: list[dict[str, Any]] | None = None


@dataclass
class CompliancePosture(CyberVaultObject):
    evaluated_at: str | None = None
    frameworks: list[ComplianceFramework] = field(default_factory=list)
    gaps: list[dict[str, Any]] | None = None
    controls: list[dict[str, Any]] | None = None

    _nested_lists: ClassVar[dict[str, type[CyberVaultObject]]] = {"frameworks": ComplianceFramework}

    def framework(self, framework_id: str) -> ComplianceFramework | None:
        return next((f for f in self.frameworks if f.id == framework_id), None)


@dataclass
class ComplianceControl(CyberVaultObject):
    name: str | None = None
    category: str | None = None
    method: str | None = None
    evaluator: str | None = None
    severity: str | None = None
    description: str | None = None
    remediation: str | None = None
    mappings: list[dict[str, Any]] | None = None


@dataclass
class Attestation(CyberVaultObject):
    control: str | None = None
    status: str | None = None
    attested_by: str | None = None
    evidence_url: str | None = None
    notes: str | None = None
    expires_at: str | None = None
    created: str | None = None


@dataclass
class PostureSnapshot(CyberVaultObject):
    trigger: str | None = None
    changes: int | None = None
    frameworks: dict[str, Any] | None = None
    controls: dict[str, Any] | None = None
    created: str | None = None


@dataclass
class WebhookEndpoint(CyberVaultObject):
    url: str | None = None
    enabled_events: list[str] | None = None
    description: str | None = None
    status: str | None = None
    disabled_reason: str | None = None
    secret: str | None = None
    created: str | None = None
    updated: str | None = None


@dataclass
class WebhookSecret(CyberVaultObject):
    secret: str | None = None


@dataclass
class WebhookDelivery(CyberVaultObject):
    webhook_endpoint: str | None = None
    event: str | None = None
    event_type: str | None = None
    status: str | None = None
    attempt_count: int | None = None
    next_attempt_at: str | None = None
    last_attempt_at: str | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    attempts: list[dict[str, Any]] | None = None
    created: str | None = None


@dataclass
class Event(CyberVaultObject):
    type: str | None = None
    created: str | None = None
    data: dict[str, Any] | None = None

    @property
    def data_object(self) -> dict[str, Any]:
        """The object the event is about (`data.object`), as a plain dict."""
        return dict((self.data or {}).get("object") or {})


@dataclass
class ApiKey(CyberVaultObject):
    type: str | None = None
    name: str | None = None
    scopes: list[str] | None = None
    redacted: str | None = None
    secret: str | None = None
    created: str | None = None
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None


@dataclass
class AuditLog(CyberVaultObject):
    action: str | None = None
    method: str | None = None
    path: str | None = None
    object_id: str | None = None
    key_id: str | None = None
    status_code: int | None = None
    client_ip: str | None = None
    request_id: str | None = None
    created: str | None = None


@dataclass
class DeletedObject(CyberVaultObject):
    deleted: bool | None = None
