"""Incidents, notification channels and triage rules (sync).

GENERATED from `_async/incidents.py` by `scripts/unasync.py`: edit that file, not this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models import (
    CyberVaultObject,
    DeletedObject,
    Incident,
    IncidentComment,
    NotificationChannel,
    TimelineEntry,
    TriageRule,
)
from ..pagination import Page
from ._resource import _Crud, _path_id


class Incidents(_Crud[Incident]):
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


class NotificationChannels(_Crud[NotificationChannel]):
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

    def delete(self, channel_id: str) -> DeletedObject:
        return self._delete(channel_id)

    def test(self, channel_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Send a test message through the channel."""
        result = self._call("POST", f"{self.path}/{_path_id(channel_id)}/test", CyberVaultObject,
                                  idempotency_key=idempotency_key)
        return result.to_dict()


class TriageRules(_Crud[TriageRule]):
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

    def delete(self, rule_id: str) -> DeletedObject:
        return self._delete(rule_id)
