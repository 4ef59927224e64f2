"""Assets, scans, findings (deduplicated per host), the scan-to-finding links and scan schedules.

Revision ID: 0003_assets_scans
Revises: 0002_platform
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cybervault.kit.db import JSONType, UTCDateTime

revision = "0003_assets_scans"
down_revision = "0002_platform"
branch_labels = ("scans",)
depends_on = None


def _tenant_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
    ]


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def _tenant_indexes(table: str) -> None:
    op.create_index(f"ix_{table}_org_id", table, ["org_id"])
    op.create_index(f"ix_{table}_livemode", table, ["livemode"])
    op.create_index(f"ix_{table}_created_at", table, ["created_at"])


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant_columns(),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("criticality", sa.String(10), nullable=False),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("last_scanned_at", UTCDateTime(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("org_id", "livemode", "target", name="uq_assets_org_id_livemode_target"),
    )
    _tenant_indexes("assets")

    op.create_table(
        "scans",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant_columns(),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("depth", sa.String(10), nullable=False),
        sa.Column("include_vulns", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("progress", JSONType, nullable=False),
        sa.Column("threats_found", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("schedule_id", sa.String(40), nullable=True),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        *_timestamps(),
    )
    _tenant_indexes("scans")
    op.create_index("ix_scans_schedule_id", "scans", ["schedule_id"])
    op.create_index("ix_scans_tenant_status", "scans", ["org_id", "livemode", "status"])

    op.create_table(
        "findings",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant_columns(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("cve", sa.String(32), nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=True),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("service", JSONType, nullable=True),
        sa.Column("cvss", sa.Float, nullable=True),
        sa.Column("kev", sa.Boolean, nullable=False),
        sa.Column("epss", sa.Float, nullable=True),
        sa.Column("confidence", sa.String(10), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("scan_id", sa.String(40), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("org_id", "livemode", "fingerprint", name="uq_findings_org_id_livemode_fingerprint"),
    )
    _tenant_indexes("findings")
    for column in ("type", "severity", "cve", "host"):
        op.create_index(f"ix_findings_{column}", "findings", [column])
    op.create_index("ix_findings_tenant_status", "findings", ["org_id", "livemode", "status"])

    op.create_table(
        "scan_findings",
        sa.Column("scan_id", sa.String(40), sa.ForeignKey("scans.id", ondelete="CASCADE",
                                                          name="fk_scan_findings_scan_id_scans"), primary_key=True),
        sa.Column("finding_id", sa.String(40), sa.ForeignKey("findings.id", ondelete="CASCADE",
                                                             name="fk_scan_findings_finding_id_findings"),
                  primary_key=True),
    )
    op.create_index("ix_scan_findings_finding_id", "scan_findings", ["finding_id"])

    op.create_table(
        "scan_schedules",
        sa.Column("id", sa.String(40), primary_key=True),
        *_tenant_columns(),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("asset_ids", JSONType, nullable=False),
        sa.Column("depth", sa.String(10), nullable=False),
        sa.Column("include_vulns", sa.Boolean, nullable=False),
        sa.Column("interval_minutes", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_scan_ids", JSONType, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        *_timestamps(),
    )
    _tenant_indexes("scan_schedules")
    op.create_index("ix_scan_schedules_next_run_at", "scan_schedules", ["next_run_at"])


def downgrade() -> None:
    op.drop_table("scan_schedules")
    op.drop_table("scan_findings")
    op.drop_table("findings")
    op.drop_table("scans")
    op.drop_table("assets")
