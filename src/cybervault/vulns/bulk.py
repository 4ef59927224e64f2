"""Bulk inserts through the database driver for the import hot path.

SQLAlchemy's per-row bind processing costs more than parsing an NVD record, so the importer hands rows
straight to the driver: `executemany` on SQLite, binary `COPY` on PostgreSQL. Values are converted the way
the column types would store them (UTC datetimes, JSON text), inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Date, Table
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.db import UTCDateTime

__all__ = ["bulk_insert", "insert_tuples", "tuple_converter"]

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _json(value: Any) -> Any:
    # orjson: about 8x faster than the standard library's encoder, which was a tenth of an import.
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    # The format SQLAlchemy's SQLite DateTime type writes and reads back (naive UTC).
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _converter(column_type: Any, dialect: str) -> Convert:
    if isinstance(column_type, JSON):  # the kit's JSONType (JSONB on PostgreSQL) is a JSON variant
        return _json
    if dialect == "sqlite":
        if isinstance(column_type, UTCDateTime):
            return _sqlite_datetime
        if isinstance(column_type, Boolean):
            return _sqlite_bool
        if isinstance(column_type, Date):
            return _sqlite_date
    return _identity


def tuple_converter(table: Table, columns: Sequence[str], dialect: str) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function turning a row of Python values (in `columns` order) into what the driver stores.

    The import worker process calls it, so the main process only hands finished tuples to the driver.
    """
    if dialect not in ("sqlite", "postgresql"):
        return tuple
    convert = [_converter(table.c[name].type, dialect) for name in columns]
    # Only convert the columns that need it; most are stored as they are.
    todo = [(i, f) for i, f in enumerate(convert) if f is not _identity]

    def run(values: Sequence[Any]) -> tuple[Any, ...]:
        out = list(values)
        for i, f in todo:
            out[i] = f(out[i])
        return tuple(out)

    return run


async def insert_tuples(session: AsyncSession, table: Table, columns: Sequence[str],
                        records: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows already converted by `tuple_converter` for this session's dialect."""
    if not records:
        return
    conn = await session.connection()
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        await session.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in records])
        return
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if dialect == "postgresql":
        await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
    else:
        quoted = ", ".join(f'"{name}"' for name in columns)
        marks = ", ".join("?" for _ in columns)
        # Identifiers come from our own table metadata, never from input.
        sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608
        await driver.executemany(sql, records)


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    conn = await session.connection()
    dialect = conn.dialect.name
    columns = list(rows[0].keys())
    if dialect not in ("sqlite", "postgresql"):
        await session.execute(table.insert(), list(rows))
        return
    convert = tuple_converter(table, columns, dialect)
    await insert_tuples(session, table, columns, [convert([row[name] for name in columns]) for row in rows])
