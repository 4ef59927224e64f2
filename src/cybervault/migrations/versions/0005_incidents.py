"""Incidents: incidents, duplicate-detection keys, comments, timeline, notification channels, triage rules.

Revision ID: 0005_incidents
Revises: 0002_platform
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cybervault.kit.db import JSONType, UTCDateTime

revision = "0005_incidents"
down_revision = "0002_platform"
branch_labels = ("incidents",)
depends_on = None


def _tenant() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("org_id", sa.String(40), nullable=False), sa.Column("livemode", sa.Boolean, nullable=False)]


def _tenant_indexes(table: str) -> None:
    op.create_index(f"ix_{table}_org_id", table, ["org_id"])
    op.create_index(f"ix_{table}_livemode", table, ["livemode"])


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("priority_score", sa.Integer, nullable=False),
        sa.Column("affected_systems", JSONType, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("triage", JSONType, nullable=False),
        sa.Column("likely_duplicate_of", sa.String(40), nullable=True),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledge_by", UTCDateTime(), nullable=True),
        sa.Column("resolve_by", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledge_breached_at", UTCDateTime(), nullable=True),
        sa.Column("resolve_breached_at", UTCDateTime(), nullable=True),
        sa.Column("personal_data_breach", sa.Boolean, nullable=False),
        sa.Column("notify_authority_by", UTCDateTime(), nullable=True),
        sa.Column("authority_notified_at", UTCDateTime(), nullable=True),
        sa.Column("root_cause", sa.Text, nullable=True),
        sa.Column("lessons_learned", sa.Text, nullable=True),
        sa.Column("rule_channels", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _tenant_indexes("incidents")
    op.create_index("ix_incidents_created_at", "incidents", ["created_at"])
    op.create_index("ix_incidents_tenant_status", "incidents", ["org_id", "livemode", "status"])
    op.create_index("ix_incidents_tenant_external", "incidents", ["org_id", "livemode", "external_id"])
    op.create_index("ix_incidents_open_deadlines", "incidents", ["status", "resolve_by"])

    op.create_table(
        "incident_keys",
        sa.Column("incident_id", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(300), primary_key=True),
        *_tenant(),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_incident_keys_lookup", "incident_keys", ["org_id", "livemode", "value", "created_at"])

    op.create_table(
        "incident_comments",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant(),
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    _tenant_indexes("incident_comments")
    op.create_index("ix_incident_comments_incident_id", "incident_comments", ["incident_id"])

    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant(),
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    _tenant_indexes("incident_timeline")
    op.create_index("ix_incident_timeline_incident_id", "incident_timeline", ["incident_id"])

    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant(),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("credentials_encrypted", sa.Text, nullable=False),
        sa.Column("min_severity", sa.String(10), nullable=True),
        sa.Column("min_priority", sa.String(2), nullable=True),
        sa.Column("event_types", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _tenant_indexes("notification_channels")
    op.create_index("ix_notification_channels_created_at", "notification_channels", ["created_at"])

    op.create_table(
        "triage_rules",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("conditions", JSONType, nullable=False),
        sa.Column("actions", JSONType, nullable=False),
        sa.Column("stop_processing", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _tenant_indexes("triage_rules")
    op.create_index("ix_triage_rules_created_at", "triage_rules", ["created_at"])
    op.create_index("ix_triage_rules_tenant_position", "triage_rules", ["org_id", "livemode", "position"])

    op.create_table(
        "incident_triage_settings",
        sa.Column("org_id", sa.String(40), primary_key=True),
        sa.Column("livemode", sa.Boolean, primary_key=True),
        sa.Column("sla", JSONType, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("incident_triage_settings", "triage_rules", "notification_channels", "incident_timeline",
                  "incident_comments", "incident_keys", "incidents"):
        op.drop_table(table)
