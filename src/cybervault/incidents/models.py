"""Incidents, their comments and timeline, notification channels, triage rules and per-org triage settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cybervault.kit.db import Base, TenantMixin, TimestampMixin, UTCDateTime, utcnow

OPEN_STATUSES = ("open", "triaged", "investigating", "contained")
DONE_STATUSES = ("resolved", "closed")


class Incident(TenantMixin, TimestampMixin, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_tenant_status", "org_id", "livemode", "status"),
        Index("ix_incidents_tenant_external", "org_id", "livemode", "external_id"),
        # The SLA job looks only at open incidents with a deadline in the past.
        Index("ix_incidents_open_deadlines", "status", "resolve_by"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(2))
    priority_score: Mapped[int] = mapped_column(Integer, default=0)
    affected_systems: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The triage result as returned by the API (matched assets, findings, CVEs, reasons, duplicates, rules).
    triage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    likely_duplicate_of: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledge_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolve_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledge_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolve_breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    personal_data_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_authority_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    authority_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    root_cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    lessons_learned: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Channels named by triage rules; notified in addition to channels whose filters match.
    rule_channels: Mapped[list[Any]] = mapped_column(default=list)


class IncidentKey(Base):
    """One row per (incident, system or CVE) so duplicate detection is an indexed lookup, not a scan."""

    __tablename__ = "incident_keys"
    __table_args__ = (Index("ix_incident_keys_lookup", "org_id", "livemode", "value", "created_at"),)

    # No surrogate key: inserts need no RETURNING, so one incident's keys go in one batched statement.
    incident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)  # "sys:<system>" or "cve:CVE-…"
    org_id: Mapped[str] = mapped_column(String(40))
    livemode: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IncidentComment(TenantMixin, Base):
    __tablename__ = "incident_comments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TimelineEntry(TenantMixin, Base):
    __tablename__ = "incident_timeline"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(40), index=True)
    type: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NotificationChannel(TenantMixin, TimestampMixin, Base):
    __tablename__ = "notification_channels"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="enabled")  # enabled | disabled
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Non-secret settings (SMTP host, recipients, …). Secrets live only in `credentials_encrypted`.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials_encrypted: Mapped[str] = mapped_column(Text, default="")
    min_severity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    min_priority: Mapped[str | None] = mapped_column(String(2), nullable=True)
    event_types: Mapped[list[Any]] = mapped_column(default=list)


class TriageRule(TenantMixin, TimestampMixin, Base):
    __tablename__ = "triage_rules"
    __table_args__ = (Index("ix_triage_rules_tenant_position", "org_id", "livemode", "position"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stop_processing: Mapped[bool] = mapped_column(Boolean, default=False)


class TriageSettings(Base):
    """Per org and mode: SLA targets per priority (minutes). Absent → the documented defaults."""

    __tablename__ = "incident_triage_settings"

    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    sla: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
