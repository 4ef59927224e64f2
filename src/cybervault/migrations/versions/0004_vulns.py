"""Vulnerability intelligence: CVEs, CPE match criteria, CISA KEV, EPSS, shipped-dataset state.

Revision ID: 0004_vulns
Revises: 0002_platform
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cybervault.kit.db import JSONType, UTCDateTime

revision = "0004_vulns"
down_revision = "0002_platform"
branch_labels = ("vulns",)
depends_on = None

_VERSION_KEY = sa.String(240).with_variant(sa.String(240, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cves",
        sa.Column("cve_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("published", UTCDateTime(), nullable=True),
        sa.Column("last_modified", UTCDateTime(), nullable=True),
        sa.Column("vuln_status", sa.String(64), nullable=True),
        sa.Column("cvss_v31_vector", sa.String(200), nullable=True),
        sa.Column("cvss_v31_score", sa.Float, nullable=True),
        sa.Column("cvss_v40_vector", sa.String(300), nullable=True),
        sa.Column("cvss_v40_score", sa.Float, nullable=True),
        sa.Column("cvss_score", sa.Float, nullable=True),
        sa.Column("severity", sa.String(10), nullable=True),
        sa.Column("cwes", JSONType, nullable=False),
        sa.Column("references", JSONType, nullable=False),
        sa.Column("configurations", JSONType, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("seq", name="uq_cves_seq"),
    )
    op.create_index("ix_cves_cvss_score", "cves", ["cvss_score"])
    op.create_table(
        "cve_cpe_matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cve_id", sa.String(32), sa.ForeignKey("cves.cve_id", ondelete="CASCADE",
                                                         name="fk_cve_cpe_matches_cve_id_cves"), nullable=False),
        sa.Column("part", sa.String(1), nullable=False),
        sa.Column("vendor", sa.String(128), nullable=False),
        sa.Column("product", sa.String(128), nullable=False),
        sa.Column("vulnerable", sa.Boolean, nullable=False),
        sa.Column("decisive", sa.Boolean, nullable=False),
        sa.Column("criteria", sa.String(512), nullable=False),
        sa.Column("version_start_including", sa.String(128), nullable=True),
        sa.Column("version_start_excluding", sa.String(128), nullable=True),
        sa.Column("version_end_including", sa.String(128), nullable=True),
        sa.Column("version_end_excluding", sa.String(128), nullable=True),
        sa.Column("lo_key", _VERSION_KEY, nullable=False),
        sa.Column("hi_key", _VERSION_KEY, nullable=False),
    )
    op.create_index("ix_cve_cpe_matches_cve_id", "cve_cpe_matches", ["cve_id"])
    op.create_index("ix_cve_cpe_matches_product_vendor", "cve_cpe_matches", ["product", "vendor"])
    op.create_index("ix_cve_cpe_matches_product_range", "cve_cpe_matches",
                    ["product", "lo_key", "hi_key", "vulnerable"])
    op.create_table(
        "cve_kev",
        sa.Column("cve_id", sa.String(32), primary_key=True),
        sa.Column("date_added", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date, nullable=True),
        sa.Column("vendor_project", sa.String(200), nullable=True),
        sa.Column("product", sa.String(200), nullable=True),
        sa.Column("vulnerability_name", sa.String(500), nullable=True),
        sa.Column("required_action", sa.Text, nullable=True),
        sa.Column("ransomware", sa.String(20), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_cve_kev_date_added", "cve_kev", ["date_added"])
    op.create_table(
        "cve_epss",
        sa.Column("cve_id", sa.String(32), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("percentile", sa.Float, nullable=False),
        sa.Column("score_date", sa.Date, nullable=True),
    )
    op.create_table(
        "vuln_dataset_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vuln_dataset_state")
    op.drop_table("cve_epss")
    op.drop_index("ix_cve_kev_date_added", table_name="cve_kev")
    op.drop_table("cve_kev")
    op.drop_index("ix_cve_cpe_matches_product_range", table_name="cve_cpe_matches")
    op.drop_index("ix_cve_cpe_matches_product_vendor", table_name="cve_cpe_matches")
    op.drop_index("ix_cve_cpe_matches_cve_id", table_name="cve_cpe_matches")
    op.drop_table("cve_cpe_matches")
    op.drop_index("ix_cves_cvss_score", table_name="cves")
    op.drop_table("cves")
