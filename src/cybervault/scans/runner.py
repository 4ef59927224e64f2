"""Running one live scan as a job: the engine's results become findings as each host finishes.

Only the worker holding the current attempt writes: every write is guarded by the scan still being
`running` with this attempt number, so a worker whose lease was taken over, or a scan canceled by
the user, stops writing and stops the engine within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.jobs.runner import JobContext
from cybervault.kit.errors import CyberVaultError
from cybervault.kit.time import utcnow
from cybervault.scanner import HostResult, Progress, ScanOptions, findings_for_port, run_scan
from cybervault.scans.cves import Matcher, cve_findings, draft_to_input, load_matcher
from cybervault.scans.models import Scan
from cybervault.scans.render import EMPTY_PROGRESS
from cybervault.scans.results import (
    FindingInput,
    clear_scan_links,
    complete_scan,
    fail_scan,
    principal_for,
    record_findings,
)
from cybervault.scans.scope import check_scan_target

log = structlog.get_logger(__name__)
PROGRESS_EVERY = 0.5  # seconds between progress writes
WATCH_EVERY = 0.25  # seconds between checks for a cancel


def engine_options(depth: str) -> ScanOptions:
    """The engine options for a depth (tests narrow the ports to servers they started)."""
    return ScanOptions(depth=depth)  # type: ignore[arg-type]


class ScanExecution:
    def __init__(self, ctx: JobContext, scan_id: str) -> None:
        self.ctx = ctx
        self.scan_id = scan_id
        self.attempt = ctx.attempt
        self.cancel = asyncio.Event()
        self.lost = False  # another attempt owns the scan now, or it was canceled
        self._progress: Progress | None = None
        self._last_write = 0.0
        self._matcher: Matcher | None = None

    async def _load(self, session: AsyncSession, *, lock: bool = False) -> Scan | None:
        stmt = select(Scan).where(Scan.id == self.scan_id)
        bind = session.bind
        if lock and bind is not None and bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return (await session.scalars(stmt)).first()

    async def _owned(self, session: AsyncSession) -> Scan | None:
        scan = await self._load(session, lock=True)
        if scan is None or scan.status != "running" or scan.attempts != self.attempt:
            self.lost = True
            self.cancel.set()
            return None
        return scan

    async def run(self) -> dict[str, Any]:
        db = self.ctx.db
        async with db.session() as session, session.begin():
            scan = await self._load(session, lock=True)
            if scan is None or scan.status not in ("queued", "running"):
                return {"scan_id": self.scan_id, "status": scan.status if scan else "missing"}
            now = utcnow()
            scan.status, scan.attempts, scan.started_at = "running", self.attempt, scan.started_at or now
            scan.progress, scan.error, scan.updated_at = dict(EMPTY_PROGRESS), None, now
            await clear_scan_links(session, scan)
            principal, target, depth = principal_for(scan), scan.target, scan.depth
            include_vulns = scan.include_vulns
        # Scope again at run time (outside the write transaction: it may resolve names): the asset may
        # have been removed, or the operator may have narrowed the allowed networks, since it was queued.
        try:
            async with db.session() as session:
                scope = await check_scan_target(session, principal, target, self.ctx.settings)
        except CyberVaultError as exc:
            await self._finish(error=exc.message)
            return {"scan_id": self.scan_id, "status": "failed"}
        if include_vulns:
            self._matcher = load_matcher()
        watcher = asyncio.create_task(self._monitor())
        try:
            results = run_scan(scope.engine_targets, engine_options(depth), on_progress=self._on_progress,
                               cancel=self.cancel)
            async with contextlib.aclosing(results):
                async for host in results:
                    await self._store_host(host)
                    if self.lost:
                        break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # engine or storage error: the scan ends failed with the reason
            log.warning("scans.run_failed", scan_id=self.scan_id, error=repr(exc))
            if await self._finish(error=f"The scan stopped with an error: {type(exc).__name__}: {exc}"):
                return {"scan_id": self.scan_id, "status": "failed"}
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if not self.cancel.is_set() and await self._finish(asset_ids=scope.asset_ids):
            return {"scan_id": self.scan_id, "status": "completed"}
        async with db.session() as session:
            status = await session.scalar(select(Scan.status).where(Scan.id == self.scan_id))
        # Canceled by the user, or another attempt owns the scan now (this worker's lease was lost).
        return {"scan_id": self.scan_id, "status": "canceled" if status == "canceled" else "superseded"}

    async def _store_host(self, host: HostResult) -> None:
        async with self.ctx.db.session() as session, session.begin():
            scan = await self._owned(session)
            if scan is None:
                return
            items: list[FindingInput] = []
            for port in host.ports:
                items.extend(draft_to_input(d) for d in findings_for_port(port))
                if scan.include_vulns:
                    items.extend(await cve_findings(session, port, self._matcher))
            if items:
                await record_findings(session, scan, items)
            if self._progress is not None:
                scan.progress = self._progress_dict(self._progress)
            scan.updated_at = utcnow()

    async def _finish(self, *, error: str | None = None, asset_ids: list[str] | None = None) -> bool:
        """Completes or fails the scan; False if it was canceled or taken over meanwhile."""
        async with self.ctx.db.session() as session, session.begin():
            scan = await self._owned(session)
            if scan is None:
                return False
            if self._progress is not None:
                scan.progress = self._progress_dict(self._progress)
            if error is not None:
                await fail_scan(session, scan, error)
            else:
                await complete_scan(session, scan, asset_ids=asset_ids)
        return True

    @staticmethod
    def _progress_dict(progress: Progress) -> dict[str, Any]:
        data = asdict(progress)
        # 100 means completed, which only the final write says (detection may still be running).
        data["percent"] = min(99.9, round(float(data["percent"]), 1))
        return data

    async def _on_progress(self, progress: Progress) -> None:
        self._progress = progress  # written by _monitor, at most every PROGRESS_EVERY seconds

    async def _write_progress(self, progress: Progress) -> None:
        async with self.ctx.db.session() as session, session.begin():
            result = await session.execute(
                update(Scan).where(Scan.id == self.scan_id, Scan.status == "running", Scan.attempts == self.attempt)
                .values(progress=self._progress_dict(progress), updated_at=utcnow()))
        if not result.rowcount:  # type: ignore[attr-defined]  # canceled, or another attempt owns it
            self.lost = True
            self.cancel.set()
        elif not await self.ctx.heartbeat():  # our job lease was taken over by another worker
            self.lost = True
            self.cancel.set()

    async def _monitor(self) -> None:
        """Writes the latest progress (throttled) and sets the engine's cancel event soon after the scan
        is canceled or taken over."""
        written: Progress | None = None
        while not self.cancel.is_set():
            await asyncio.sleep(WATCH_EVERY)
            progress = self._progress
            if progress is not None and progress != written and time.monotonic() - self._last_write >= PROGRESS_EVERY:
                self._last_write = time.monotonic()
                written = progress
                await self._write_progress(progress)
                continue
            async with self.ctx.db.session() as session:
                row = (await session.execute(
                    select(Scan.status, Scan.attempts).where(Scan.id == self.scan_id))).first()
            if row is None or row[0] != "running" or row[1] != self.attempt:
                self.lost = True
                self.cancel.set()
