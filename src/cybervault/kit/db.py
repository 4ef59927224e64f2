"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, MetaData, String, TypeDecorator, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic batch migrations on SQLite can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class TenantMixin:
    """Rows that belong to one organization and one mode (live or test)."""

    org_id: Mapped[str] = mapped_column(String(40), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean, index=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Execution option for read-only work that must not take SQLite's write lock (see _tune_sqlite).
READ_ONLY = "cybervault_read_only"


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions defer the write lock).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front so two writers never deadlock upgrading a read lock. A long
        # read-only scan (the vulnerability match index build) asks for a plain BEGIN instead, which in
        # WAL mode never blocks writers.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 10, pgbouncer: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
        _tune_sqlite(engine)
        return engine
    # Behind PgBouncer in transaction mode prepared statements do not survive between transactions, so
    # the caches must be off; directly on PostgreSQL they save a round trip per statement (~2x on creates).
    connect_args = {"prepared_statement_cache_size": 0, "statement_cache_size": 0} if pgbouncer else {}
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pgbouncer,
                               pool_recycle=1800, connect_args=connect_args)


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str, *, pool_size: int = 10, pgbouncer: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, pgbouncer=pgbouncer)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def single_statements(self) -> AsyncIterator[AsyncConnection]:
        """A connection for statements that are each atomic on their own (a claim, a finish, a read):
        autocommitted on PostgreSQL, saving the BEGIN/COMMIT round trips that on a small VM cost as much
        as the statement; one short transaction on SQLite."""
        if self.engine.dialect.name == "postgresql":
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
