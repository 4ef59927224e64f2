"""Data migrations of the CVE tables fix rows written by earlier versions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from cybervault.kit.db import Database
from cybervault.kit.migrate import alembic_config
from cybervault.vulns.models import CveCpeMatch
from cybervault.vulns.repository import CveStore
from cybervault.vulns.versions import sortable_key
from tests.vulns.test_matching import crit, node, nvd


async def _upgrade(db: Database, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def test_milestone_keys_written_before_0009_are_recomputed(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await _upgrade(db, "0008_vulns_lean_indexes")
        record = nvd("CVE-2019-0232", {"nodes": [node(crit("cpe:2.3:a:apache:tomcat:9.0.0:m1:*:*:*:*:*:*"),
                                                      crit("cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*"))]})
        async with db.session() as session:
            await CveStore(session).upsert_records([record], source="nvd")
            old = sortable_key("9.0.0m1")  # what the importer wrote before 0009
            await session.execute(update(CveCpeMatch).where(CveCpeMatch.criteria.like("%tomcat%"))
                                  .values(lo_key=old, hi_key=old))
            await session.commit()

        await _upgrade(db, "heads")

        async with db.session() as session:
            keys = dict((await session.execute(select(CveCpeMatch.product, CveCpeMatch.lo_key))).all())
        assert keys["tomcat"] == sortable_key("9.0.0.M1") < sortable_key("9.0.0")
        assert keys["openssh"] == sortable_key("8.5p1")  # patch levels are left as they were
    finally:
        await db.dispose()
