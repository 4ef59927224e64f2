"""Big NVD and CVE 5 files, imported by a pipeline of processes so that every core does useful work.

    splitter ──items' bytes──▶ parsers (one per core) ──finished rows──▶ this process (writes)

The splitter reads the file once and cuts it into its items' raw bytes (`fastjson.nvd_item_pieces`),
checking each with orjson (a few µs); parsers decode, validate and build database rows; this process
only writes. Every record is decoded by one parser alone, so adding parsers adds throughput.

A file the splitter cannot cut safely (not the plain NVD shape, an unusual item, a CVE 5 file) is read
from that item on by the careful readers in `formats` (size and depth guards, ijson), which re-encode
each item for the parsers: the results and the errors reported are the same, only slower.

Memory is bounded by the queues: at most a few batches are in flight between the stages.
"""

from __future__ import annotations

import asyncio
import io
import json
import multiprocessing
import queue as queue_mod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from cybervault.kit.db import utcnow
from cybervault.vulns.fastjson import Unusual, nvd_item_pieces
from cybervault.vulns.formats import (
    NVD,
    RECORD_BUILDERS,
    FileFormatError,
    Parsed,
    file_errors,
    item_id,
    open_data,
    raw_items,
)
from cybervault.vulns.guards import MAX_JSON_DEPTH, MAX_JSON_STRING, JsonTooComplex, StringTooLong, guarded
from cybervault.vulns.rows import PreparedRecord, prepare_record

__all__ = ["PipelineResult", "run_pipeline"]

_QUEUE_DEPTH = 2  # batches waiting per parser, in each direction
Write = Callable[[list[Parsed]], Awaitable[None]]
Progress = Callable[[int, int], None]  # (bytes of the file read, records seen)


@dataclass
class PipelineResult:
    records: int = 0
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # (place in the file, id, reason)
    file_error: str | None = None


def _decimal_as_float(value: Any) -> Any:
    if isinstance(value, Decimal):  # ijson's numbers; the parsers see what orjson would have given them
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _encode(item: Any) -> bytes:
    try:
        return orjson.dumps(item, default=_decimal_as_float)
    except TypeError:  # integers beyond 64 bits, lone surrogates: the standard library writes those
        return json.dumps(item, default=_decimal_as_float).encode()


def _decode(piece: bytes) -> Any:
    try:
        return orjson.loads(piece)
    except orjson.JSONDecodeError:  # what _encode wrote with the standard library
        return json.loads(piece)


def within_guards(piece: bytes) -> None:
    """Unusual if the item breaks a limit of the careful readers' guards (a string over 1 MB, nesting over
    128 levels), so that the careful reader refuses the file exactly as it does a small one. Only items
    that could (big, or with many brackets: NVD items with hundreds of criteria) are scanned."""
    if len(piece) <= MAX_JSON_STRING and piece.count(b"{") + piece.count(b"[") <= MAX_JSON_DEPTH:
        return
    try:
        guarded(io.BytesIO(piece)).read()
    except (StringTooLong, JsonTooComplex) as exc:
        raise Unusual("an item a guard refuses") from exc


def _split(path: str, fmt: str, batch_size: int, work: Any, out: Any, parsers: int) -> None:
    """Splitter process: batches of (index of the first item, [item bytes], file position) to `work`,
    then one None per parser, then ("end", items seen, file error or None, file position) to `out`."""
    data = source = open_data(Path(path))
    seen, last_id = 0, "(start of file)"
    batch: list[bytes] = []

    def add(piece: bytes, item: Any) -> None:
        nonlocal seen, last_id, batch
        batch.append(piece)
        seen += 1
        rid = item_id(item, fmt)
        if rid != "(unknown)":
            last_id = rid
        if len(batch) >= batch_size:
            work.put((seen - len(batch), batch, source.position))
            batch = []

    file_error: str | None = None
    try:
        if fmt == NVD:
            try:
                with file_errors():
                    for piece in nvd_item_pieces(data.stream):
                        within_guards(piece)
                        try:
                            item = orjson.loads(piece)
                        except orjson.JSONDecodeError as exc:
                            raise Unusual("an item the fast reader will not decode") from exc
                        if not isinstance(item, dict):
                            raise Unusual("an item that is not an object")
                        add(piece, item)
                fmt_done = True
            except Unusual:
                fmt_done = False
        else:
            fmt_done = False
        if not fmt_done:  # the careful readers, from the first item not yet sent
            source = open_data(Path(path))
            for index, item in enumerate(raw_items(source, fmt)):
                if index >= seen:
                    add(_encode(item), item)
    except FileFormatError as exc:
        file_error = f"{exc} (after record {last_id})"
    except BaseException as exc:  # noqa: BLE001 - reported to the importer, which owns the report
        file_error = f"cannot read file: {type(exc).__name__}: {exc}"[:300]
    finally:
        if batch:
            work.put((seen - len(batch), batch, source.position))
        for _ in range(parsers):
            work.put(None)
        out.put(("end", seen, file_error, source.position))
        data.close()
        source.close()


def _parse(fmt: str, dialect: str, max_failures: int, work: Any, out: Any) -> None:
    """Parser process: each batch of item bytes becomes ("rows", rows, failures, count, position)."""
    build = RECORD_BUILDERS[fmt]
    failures_sent = 0
    try:
        while (task := work.get()) is not None:
            first, pieces, position = task
            now = utcnow()
            rows: list[tuple[Any, ...]] = []
            failures: list[tuple[int, str, str]] = []
            for offset, piece in enumerate(pieces):
                parsed = build(_decode(piece), first + offset)
                if parsed.error is not None:
                    if failures_sent < max_failures:
                        failures.append((first + offset, parsed.record_id, parsed.error))
                        failures_sent += 1
                    continue
                r = prepare_record(parsed.value, fmt, now, dialect)
                rows.append((parsed.record_id, r.cve_id, r.last_modified, r.kev, r.cve, r.matches))
            out.put(("rows", rows, failures, len(pieces), position))
    except BaseException as exc:  # noqa: BLE001 - reported to the importer, which owns the report
        out.put(("crash", f"{type(exc).__name__}: {exc}"[:300]))
        return
    out.put(("done",))


async def run_pipeline(path: Path, fmt: str, dialect: str, write: Write, *, batch_size: int, parsers: int,
                       max_failures: int, progress: Progress | None = None) -> PipelineResult:
    """Import one file through the process pipeline; `write` stores a batch (this process, in order of
    arrival: batches are independent upserts)."""
    ctx = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop and threads
    work: Any = ctx.Queue(maxsize=_QUEUE_DEPTH * parsers)
    out: Any = ctx.Queue(maxsize=_QUEUE_DEPTH * parsers + 1)
    procs = [ctx.Process(target=_split, args=(str(path), fmt, batch_size, work, out, parsers), daemon=True)]
    procs += [ctx.Process(target=_parse, args=(fmt, dialect, max_failures, work, out), daemon=True)
              for _ in range(parsers)]
    for proc in procs:
        proc.start()

    def receive() -> tuple[Any, ...]:
        while True:
            try:
                return out.get(timeout=0.5)  # type: ignore[no-any-return]
            except queue_mod.Empty:
                # A process that died, or all of them gone with messages still owed: no more will come.
                if any(p.exitcode not in (None, 0) for p in procs) or all(p.exitcode is not None for p in procs):
                    try:
                        return out.get(timeout=1.0)  # type: ignore[no-any-return]
                    except queue_mod.Empty:
                        codes = ", ".join(str(p.exitcode) for p in procs)
                        return ("crash", f"an import process exited (exit codes {codes})")

    result = PipelineResult()
    ended = False
    pending: asyncio.Task[None] | None = None
    parsed, position, parsers_left, split_done = 0, 0, parsers, False
    try:
        while parsers_left or not split_done:
            msg = await asyncio.to_thread(receive)
            if msg[0] == "crash":
                result.file_error = f"cannot read file: {msg[1]}"
                result.records = max(result.records, parsed)
                break
            if msg[0] == "end":
                _, result.records, result.file_error, position = msg
                split_done = True
                continue
            if msg[0] == "done":
                parsers_left -= 1
                continue
            _, rows, failures, count, at = msg
            parsed += count
            position = max(position, at)
            result.failures.extend(failures)
            batch = [Parsed(rid, PreparedRecord(cve_id, modified, kev, cve, matches))
                     for rid, cve_id, modified, kev, cve, matches in rows]
            if pending is not None:
                await pending
                pending = None
            if batch:
                pending = asyncio.create_task(write(batch))
            if progress:
                progress(position, parsed)
        if pending is not None:
            await pending
        ended = result.file_error is None  # every process said it was done
    finally:
        if pending is not None and not pending.done():
            await pending
        for proc in procs:
            # Processes that ended exit at once; after a crash or a write error, others may be blocked on
            # a full queue and are stopped.
            proc.join(timeout=5 if ended else 0.5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        work.close()
        out.close()
    result.failures.sort()
    del result.failures[max_failures:]
    return result
