"""One MatchIndex per database, built in the background and replaced when the CVE data changes.

Every write to the CVE tables stores a new data-version token (`CveStore.mark_changed`) in the same
transaction. The index is used only while it was built from the current token; otherwise lookups answer
through SQL (`service.match_target_sql`) and, once the data has been quiet for `SETTLE_SECONDS` (an import
writes many batches), a rebuild starts. During imports matching is as fast as SQL alone.

Reading the token costs a query (0.3-0.7 ms on SQLite, most of a fast lookup), so it is re-read at most
every `TOKEN_TTL_SECONDS`; a commit in this process that changed CVE data forces a re-read at once. An
import made by another process (a CLI import beside a running server) is therefore seen within that TTL.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from cybervault.kit.db import READ_ONLY
from cybervault.vulns.match_index import IndexBuilder, MatchIndex
from cybervault.vulns.records import RecordError, parse_configurations
from cybervault.vulns.repository import DATA_CHANGED, CveStore

__all__ = ["build_index", "cached_index", "set_enabled", "start_warming", "warm_index"]

log = structlog.get_logger(__name__)
SETTLE_SECONDS = 2.0
TOKEN_TTL_SECONDS = 0.25
FREEZE_ABOVE_CRITERIA = 50_000
_PARTITION = 5000


class _Slot:
    def __init__(self) -> None:
        self.index: MatchIndex | None = None
        self.task: asyncio.Task[None] | None = None
        self.seen_token: str | None = None
        self.seen_at = 0.0
        self.checked_at = 0.0  # when the token was last read
        self.enabled = True


_slots: weakref.WeakKeyDictionary[Any, _Slot] = weakref.WeakKeyDictionary()


def _slot(engine: AsyncEngine) -> _Slot:
    key = engine.sync_engine
    slot = _slots.get(key)
    if slot is None:
        slot = _slots[key] = _Slot()
    return slot


@event.listens_for(Session, "after_commit")
def _recheck_after_change(session: Session) -> None:
    if session.info.pop(DATA_CHANGED, False):
        for slot in list(_slots.values()):  # any engine of this process may read the same database
            slot.checked_at = 0.0


@event.listens_for(Session, "after_rollback")
def _forget_change(session: Session) -> None:
    session.info.pop(DATA_CHANGED, None)


def set_enabled(engine: AsyncEngine, enabled: bool) -> None:
    """Turn the in-memory index off (CYBERVAULT_VULN_MATCH_INDEX=false): every lookup then uses SQL."""
    slot = _slot(engine)
    slot.enabled = enabled
    if not enabled:
        slot.index = None


async def build_index(engine: AsyncEngine) -> MatchIndex:
    """Read the CVE tables into a new MatchIndex, streamed in partitions. The rows are fetched in the event
    loop but compiled in a worker thread: the interpreter switches threads every few milliseconds, so
    requests served by this process keep being answered during a build of many seconds (in the loop, each
    partition and the final sort held it for up to seconds)."""
    started = time.perf_counter()
    async with AsyncSession(engine.execution_options(**{READ_ONLY: True})) as session, session.begin():
        store = CveStore(session)
        builder = IndexBuilder(await store.data_version() or "")
        async for rows in store.stream_match_metadata(_PARTITION):
            await asyncio.to_thread(_add_cves, builder, rows)
        async for rows in store.stream_complex_configurations(_PARTITION):
            await asyncio.to_thread(_add_configurations, builder, rows)
        async for rows in store.stream_vulnerable_criteria(_PARTITION):
            await asyncio.to_thread(_add_criteria, builder, rows)
    index = await asyncio.to_thread(builder.build)
    log.info("vulns.match_index_built", cves=len(index), criteria=index.criteria_count,
             seconds=round(time.perf_counter() - started, 2))
    return index


def _add_cves(builder: IndexBuilder, rows: Sequence[Any]) -> None:
    for r in rows:
        builder.add_cve(r[0], r[1], r[2], r[3] or r[4], r[5], r[6] is not None, r[7])


def _add_configurations(builder: IndexBuilder, rows: Sequence[Any]) -> None:
    for cve_id, raw in rows:
        try:
            builder.add_configurations(cve_id, raw or [], parse_configurations)
        except RecordError:
            continue  # unreadable: neither path can evaluate it


def _add_criteria(builder: IndexBuilder, rows: Sequence[Any]) -> None:
    for r in rows:
        builder.add_criterion(r[0], r[1], (r[2], r[3], r[4], r[5]), bool(r[6]))


async def _rebuild(engine: AsyncEngine, slot: _Slot) -> None:
    # A big index is millions of small long-lived objects: the cyclic collector would walk them again
    # and again while they are made (a third of the build time) and in every later full collection
    # (pauses of ~0.5 s). They hold no cycles, so collection pauses during the build and a big index is
    # frozen afterwards (unfrozen first, so that what an earlier freeze kept can still be collected).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        slot.index = await build_index(engine)
    except Exception as exc:  # matching keeps working through SQL
        log.warning("vulns.match_index_failed", error=f"{type(exc).__name__}: {exc}")
    finally:
        slot.task = None
        if was_enabled:
            gc.enable()
    if slot.index is not None and slot.index.criteria_count >= FREEZE_ABOVE_CRITERIA:
        # The one full collection walks the new index (~0.15 s for a million criteria): the longest
        # pause a rebuild causes in this process, once per rebuild.
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        log.info("vulns.match_index_frozen", seconds=round(time.perf_counter() - started, 3))


async def cached_index(session: AsyncSession) -> MatchIndex | None:
    """The index for this session's database if it reflects the current data, else None (and maybe a
    rebuild is started)."""
    engine = session.bind
    if not isinstance(engine, AsyncEngine):
        return None
    slot = _slot(engine)
    if not slot.enabled:
        return None
    now = time.monotonic()
    if slot.index is not None and now - slot.checked_at < TOKEN_TTL_SECONDS:
        return slot.index
    token = await CveStore(session).data_version() or ""
    if slot.index is not None and slot.index.token == token:
        slot.checked_at = now
        return slot.index
    if token != slot.seen_token:
        slot.seen_token, slot.seen_at = token, now
    quiet = now - slot.seen_at >= SETTLE_SECONDS
    if slot.task is None and (slot.index is None or quiet):
        slot.task = asyncio.get_running_loop().create_task(_rebuild(engine, slot))
    return None


async def warm_index(engine: AsyncEngine) -> MatchIndex | None:
    """Build (or finish building) the index now; the server calls this at start, benchmarks before timing."""
    slot = _slot(engine)
    if slot.task is not None:
        await slot.task
    else:
        await _rebuild(engine, slot)
    return slot.index


def start_warming(engine: AsyncEngine, enabled: bool) -> asyncio.Task[MatchIndex | None] | None:
    """At process start: build the index in the background so the first scan already matches fast."""
    set_enabled(engine, enabled)
    if not enabled:
        return None
    return asyncio.get_running_loop().create_task(warm_index(engine), name="vuln-match-index")
