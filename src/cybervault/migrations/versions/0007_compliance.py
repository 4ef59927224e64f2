"""Compliance: attestations, posture snapshots, last requirement status, evaluation state.

Revision ID: 0007_compliance
Revises: 0002_platform
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cybervault.kit.db import JSONType, UTCDateTime

revision = "0007_compliance"
down_revision = "0002_platform"
branch_labels = ("compliance",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_attestations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("control_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("evidence_url", sa.String(2000), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("attested_by", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_key", sa.String(40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_compliance_attestations_org_id", "compliance_attestations", ["org_id"])
    op.create_index("ix_compliance_attestations_livemode", "compliance_attestations", ["livemode"])
    op.create_index("ix_compliance_attestations_tenant_control", "compliance_attestations",
                    ["org_id", "livemode", "control_id"])
    op.create_table(
        "compliance_posture_snapshots",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", sa.String(40), nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("frameworks", JSONType, nullable=False),
        sa.Column("controls", JSONType, nullable=False),
        sa.Column("changes", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_compliance_posture_snapshots_org_id", "compliance_posture_snapshots", ["org_id"])
    op.create_index("ix_compliance_posture_snapshots_livemode", "compliance_posture_snapshots", ["livemode"])
    op.create_index("ix_compliance_snapshots_tenant_id", "compliance_posture_snapshots",
                    ["org_id", "livemode", "id"])
    op.create_table(
        "compliance_requirement_status",
        sa.Column("org_id", sa.String(40), primary_key=True),
        sa.Column("livemode", sa.Boolean, primary_key=True),
        sa.Column("framework", sa.String(20), primary_key=True),
        sa.Column("requirement_id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "compliance_evaluation_state",
        sa.Column("org_id", sa.String(40), primary_key=True),
        sa.Column("livemode", sa.Boolean, primary_key=True),
        sa.Column("last_evaluated_at", UTCDateTime(), nullable=True),
        sa.Column("last_snapshot_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("compliance_evaluation_state")
    op.drop_table("compliance_requirement_status")
    op.drop_table("compliance_posture_snapshots")
    op.drop_table("compliance_attestations")
