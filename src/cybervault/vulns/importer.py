"""`cybervault cve import`: stream files into the database in batches, one transaction per batch.

A batch that fails to write is retried record by record, so one bad record never blocks the good ones and
no record is ever half-written (its CVE row and its CPE rows commit together or not at all).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue as queue_mod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from cybervault.kit.db import Database, utcnow
from cybervault.vulns.formats import (
    CVE5,
    EPSS,
    KEV,
    NVD,
    SKIPPED,
    FileFormatError,
    Parsed,
    detect_format,
    open_data,
    read_records,
)
from cybervault.vulns.repository import CveStore, PreparedRecord, UpsertCounts, prepare_record

__all__ = ["FileReport", "Failure", "import_file", "import_paths"]

BATCH = 1000
# Files at least this big (on disk) are parsed in a worker process while this one writes: parsing and row
# building are pure Python and would otherwise share one core (and the GIL) with the database driver.
PIPELINE_MIN_BYTES = 2 << 20
_QUEUE_DEPTH = 4  # batches in flight between the processes: bounds memory
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


def _worker_batch(batch: list[Parsed], fmt: str, dialect: str) -> list[tuple[Any, ...]]:
    now = utcnow()
    out = []
    for p in batch:
        r = prepare_record(p.value, fmt, now, dialect)
        out.append((p.record_id, r.cve_id, r.last_modified, r.kev, r.cve, r.matches))
    return out


def parser_count(configured: int = 0) -> int:
    """Parser processes for a big file (CYBERVAULT_IMPORT_PARSERS; 0 = one per core, at most four).
    The writing process mostly waits on the database, so the parsers may use every core."""
    if configured > 0:
        return configured
    return max(1, min(4, os.cpu_count() or 1))


def _parse_worker(path: str, fmt: str, batch_size: int, dialect: str, max_failures: int, out: Any,
                  share: int = 0, shares: int = 1) -> None:
    """Worker process: parse the file and send finished rows, one message per batch.

    With several workers each reads the whole file (decoding is the cheap part) but validates and builds
    rows only for records number share, share + shares, …; record failures are reported by their owner,
    a broken file by every worker (the parent keeps the first).

    Message: ("batch", rows, failures, records seen, bytes read, file error, done) or ("crash", reason).
    Plain tuples keep pickling cheap.
    """
    data = open_data(Path(path))
    try:
        records = read_records(data, fmt, share=share, shares=shares)
        seen, sent_failures, last_id = 0, 0, "(start of file)"
        batch: list[Parsed] = []
        failures: list[tuple[str, str]] = []
        file_error: str | None = None
        try:
            for parsed in records:
                seen += 1
                if parsed.value is SKIPPED:
                    last_id = parsed.record_id  # another worker's record: only a place in the file
                    continue
                if parsed.error is not None:
                    if sent_failures < max_failures:
                        failures.append((seen, parsed.record_id, parsed.error))
                        sent_failures += 1
                    continue
                last_id = parsed.record_id
                batch.append(parsed)
                if len(batch) >= batch_size:
                    out.put(("batch", _worker_batch(batch, fmt, dialect), failures, seen, data.position, None,
                             False))
                    batch, failures = [], []
        except FileFormatError as exc:
            file_error = f"{exc} (after record {last_id})"
        out.put(("batch", _worker_batch(batch, fmt, dialect), failures, seen, data.position, file_error, True))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which owns the report
        out.put(("crash", f"{type(exc).__name__}: {exc}"[:300]))
    finally:
        data.close()


async def _import_pipelined(db: Database, path: Path, fmt: str, report: FileReport, progress: Progress | None,
                            batch_size: int, max_failures_listed: int, parsers: int) -> None:
    """Parse in worker processes while this process writes the previous batch."""
    ctx = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop and threads
    shares = parser_count(parsers)
    messages: Any = ctx.Queue(maxsize=_QUEUE_DEPTH * shares)
    procs = [ctx.Process(target=_parse_worker, daemon=True,
                         args=(str(path), fmt, batch_size, db.engine.dialect.name, max_failures_listed, messages,
                               share, shares))
             for share in range(shares)]
    for proc in procs:
        proc.start()

    def receive() -> tuple[Any, ...]:
        while True:
            try:
                return messages.get(timeout=0.5)  # type: ignore[no-any-return]
            except queue_mod.Empty:
                # A worker that died, or all of them gone with messages still owed: no more will come.
                if any(p.exitcode not in (None, 0) for p in procs) or all(p.exitcode is not None for p in procs):
                    try:
                        return messages.get(timeout=1.0)  # type: ignore[no-any-return]
                    except queue_mod.Empty:
                        codes = ", ".join(str(p.exitcode) for p in procs)
                        return ("crash", f"parser process exited (exit codes {codes})")

    pending: asyncio.Task[None] | None = None
    finished = 0
    failed: list[tuple[int, str, str]] = []  # (place in the file, record id, reason): listed in file order
    try:
        while finished < shares:
            msg = await asyncio.to_thread(receive)
            if msg[0] == "crash":
                report.file_error = f"cannot read file: {msg[1]}"
                break
            _, rows, failures, seen, position, file_error, done = msg
            report.records = max(report.records, seen)
            failed.extend(failures)
            batch = [Parsed(rid, PreparedRecord(cve_id, modified, kev, cve, matches))
                     for rid, cve_id, modified, kev, cve, matches in rows]
            if pending is not None:
                await pending
                pending = None
            if batch:
                pending = asyncio.create_task(_write_batch(db, fmt, batch, report))
            if file_error is not None and report.file_error is None:
                report.file_error = file_error
            if progress:
                progress(position, report.records)
            finished += bool(done)
        if pending is not None:
            await pending
    finally:
        if pending is not None and not pending.done():
            await pending
        failed.sort()
        report.failures[:0] = [Failure(report.file, rid, reason)
                               for _, rid, reason in failed[:max(0, max_failures_listed - len(report.failures))]]
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        messages.close()


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
        if progress:
            progress(path.stat().st_size, report.records)
        if report.records == 0 and report.file_error is None:
            report.file_error = "no records found"
        return report
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
    if progress:
        progress(data.size, report.records)
    if report.records == 0 and report.file_error is None:
        report.file_error = "no records found"
    return report


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
