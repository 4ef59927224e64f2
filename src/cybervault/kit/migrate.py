"""Apply Alembic migrations (every domain branch: `upgrade heads`) from code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from cybervault.kit.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    return config


async def upgrade_database(db: Database) -> None:
    def _upgrade(connection: Connection) -> None:
        config = alembic_config(db.url)
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")

    async with db.engine.begin() as connection:
        await connection.run_sync(_upgrade)
    await _post_migrate(db)


async def _post_migrate(db: Database) -> None:
    """Data every install needs, loaded idempotently after the schema (e.g. the shipped CVE dataset)."""
    from cybervault.kit.modules import module_exists

    if not module_exists("cybervault.vulns.service"):
        return
    from cybervault.vulns import service as vulns_service

    loader = getattr(vulns_service, "load_shipped_dataset", None)
    if loader is None:
        return
    async with db.session() as session:
        await loader(session)
        await session.commit()
