"""`cybervault cve import`: stream files into the database in batches, one transaction per batch.

A batch that fails to write is retried record by record, so one bad record never blocks the good ones and
no record is ever half-written (its CVE row and its CPE rows commit together or not at all).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from cybervault.kit.db import Database
from cybervault.vulns.formats import (
    CVE5,
    EPSS,
    KEV,
    NVD,
    FileFormatError,
    Parsed,
    detect_format,
    open_data,
    read_records,
)
from cybervault.vulns.pipeline import run_pipeline
from cybervault.vulns.repository import CveStore, UpsertCounts
from cybervault.vulns.rows import PreparedRecord

__all__ = ["FileReport", "Failure", "import_file", "import_paths"]

BATCH = 1000
# Files at least this big (on disk) go through the process pipeline (pipeline.py) while this process
# writes: parsing and row building are pure Python and would otherwise share one core with the driver.
PIPELINE_MIN_BYTES = 2 << 20
Progress = Callable[[int, int], None]  # (bytes read, records seen)


@dataclass(frozen=True)
class Failure:
    file: str
    record_id: str
    reason: str


@dataclass
class FileReport:
    file: str
    format: str | None = None
    records: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    failures: list[Failure] = field(default_factory=list)
    file_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.failures


async def _write(store: CveStore, fmt: str, values: Sequence[Any]) -> UpsertCounts:
    if values and isinstance(values[0], PreparedRecord):
        return await store.upsert_prepared(values, source=fmt)
    if fmt in (NVD, CVE5):
        return await store.upsert_records(values, source=fmt)
    if fmt == KEV:
        return await store.upsert_kev(values)
    return await store.upsert_epss(values)


async def _write_batch(db: Database, fmt: str, batch: list[Parsed], report: FileReport) -> None:
    async def once(values: Sequence[Any]) -> UpsertCounts:
        async with db.session() as session, session.begin():
            return await _write(CveStore(session), fmt, values)

    try:
        report.counts.add(await once([p.value for p in batch]))
        return
    except SQLAlchemyError:
        pass  # find the record(s) the database refused; the others still go in
    for parsed in batch:
        try:
            report.counts.add(await once([parsed.value]))
        except SQLAlchemyError as exc:
            reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0][:300]
            report.failures.append(Failure(report.file, parsed.record_id, f"database refused it: {reason}"))


def parser_count(configured: int = 0) -> int:
    """Parser processes for a big file (CYBERVAULT_IMPORT_PARSERS; 0 = one per core, at most four).
    The writing process and the splitter mostly wait, so the parsers may use every core."""
    if configured > 0:
        return configured
    return max(1, min(4, os.cpu_count() or 1))


async def import_file(db: Database, path: Path, *, progress: Progress | None = None,
                      batch_size: int = BATCH, max_failures_listed: int = 1000, parsers: int = 0) -> FileReport:
    report = FileReport(file=str(path))
    try:
        fmt = detect_format(path)
    except (FileFormatError, OSError) as exc:
        report.file_error = str(exc)
        return report
    report.format = fmt
    if fmt in (NVD, CVE5) and path.stat().st_size >= PIPELINE_MIN_BYTES:
        await _import_pipelined(db, path, fmt, report, progress, batch_size, max_failures_listed, parsers)
    else:
        await _import_in_process(db, path, fmt, report, progress, batch_size, max_failures_listed)
    if progress:
        progress(path.stat().st_size, report.records)
    if report.records == 0 and report.file_error is None:
        report.file_error = "no records found"
    return report


async def _import_pipelined(db: Database, path: Path, fmt: str, report: FileReport, progress: Progress | None,
                            batch_size: int, max_failures_listed: int, parsers: int) -> None:
    result = await run_pipeline(path, fmt, db.engine.dialect.name,
                                lambda batch: _write_batch(db, fmt, batch, report), batch_size=batch_size,
                                parsers=parser_count(parsers), max_failures=max_failures_listed, progress=progress)
    report.records = result.records
    report.file_error = result.file_error
    room = max(0, max_failures_listed - len(report.failures))  # the database may have refused some already
    report.failures[:0] = [Failure(report.file, rid, reason) for _, rid, reason in result.failures[:room]]


async def _import_in_process(db: Database, path: Path, fmt: str, report: FileReport, progress: Progress | None,
                             batch_size: int, max_failures_listed: int) -> None:
    data = open_data(path)
    records = read_records(data, fmt)
    state = {"last_id": "(start of file)", "done": False}

    def take_batch() -> list[Parsed]:
        """Parse the next batch (runs in a thread so parsing overlaps the previous batch's write)."""
        batch: list[Parsed] = []
        try:
            for parsed in records:
                report.records += 1
                if parsed.error is not None:
                    if len(report.failures) < max_failures_listed:
                        report.failures.append(Failure(report.file, parsed.record_id, parsed.error))
                    continue
                state["last_id"] = parsed.record_id
                batch.append(parsed)
                if len(batch) >= batch_size:
                    return batch
        except FileFormatError as exc:
            report.file_error = f"{exc} (after record {state['last_id']})"
        state["done"] = True
        return batch

    pending: asyncio.Task[None] | None = None
    try:
        while True:
            batch = await asyncio.to_thread(take_batch)
            if pending is not None:
                await pending
                pending = None
            if batch:
                pending = asyncio.create_task(_write_batch(db, fmt, batch, report))
            if progress:
                progress(data.position, report.records)
            if state["done"]:
                break
        if pending is not None:
            await pending
    finally:
        if pending is not None and not pending.done():
            await pending
        data.close()


async def import_paths(db: Database, paths: Sequence[Path],
                       on_file: Callable[[Path, int], Progress | None] | None = None,
                       done: Callable[[FileReport], Awaitable[None] | None] | None = None,
                       parsers: int = 0) -> list[FileReport]:
    reports = []
    for path in paths:
        size = path.stat().st_size if path.exists() else 0
        progress = on_file(path, size) if on_file else None
        if not path.is_file():
            report = FileReport(file=str(path), file_error="no such file")
        else:
            report = await import_file(db, path, progress=progress, parsers=parsers)
        reports.append(report)
        if done:
            result = done(report)
            if result is not None:
                await result
    return reports


FORMAT_NAMES = {NVD: "NVD CVE JSON 2.0", CVE5: "CVE JSON 5", KEV: "CISA KEV catalog", EPSS: "EPSS CSV"}
