"""Vulns: recompute the version keys of exact CPE criteria whose update field is a pre-release label.

NVD writes Tomcat milestones as `9.0.0:m1`; keys written before 0009 read that as the post-release
`9.0.0m1` (after 9.0.0) instead of the milestone `9.0.0.M1` (before it), so the SQL matcher's prefilter
skipped them for milestone banners. Only exact-version rows (lo_key = hi_key) can be affected.

Revision ID: 0009_vulns_milestone_keys
Revises: 0008_vulns_lean_indexes
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import bindparam, text

revision = "0009_vulns_milestone_keys"
down_revision = "0008_vulns_lean_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from cybervault.vulns.cpe import InvalidCpe, parse_cpe
    from cybervault.vulns.records import CpeCriterion
    from cybervault.vulns.rows import criterion_row

    conn = op.get_bind()
    rows = conn.execute(text("SELECT id, cve_id, criteria, lo_key FROM cve_cpe_matches "
                             "WHERE lo_key = hi_key AND lo_key <> ''")).all()
    changed = []
    for row_id, cve_id, criteria, lo_key in rows:
        try:
            cpe = parse_cpe(criteria)
        except InvalidCpe:
            continue
        key = criterion_row(cve_id, CpeCriterion(criteria, cpe, True))["lo_key"]
        if key != lo_key:
            changed.append({"row_id": row_id, "key": key})
    if changed:
        conn.execute(text("UPDATE cve_cpe_matches SET lo_key = :key, hi_key = :key WHERE id = :row_id")
                     .bindparams(bindparam("key"), bindparam("row_id")), changed)


def downgrade() -> None:
    pass  # the old keys were wrong; nothing to restore
