"""Persisting what a scan found, shared by live scan jobs and the sandbox.

A finding is keyed by a fingerprint of (host, port, protocol, type, cve) within an org and mode, so a
re-scan moves `last_seen` instead of adding a duplicate, and `threat.detected` fires only for a finding
that is new on its host.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.assets.models import Asset
from cybervault.events.service import record_event
from cybervault.kit.auth import Principal
from cybervault.kit.db import TenantMixin
from cybervault.kit.ids import new_id
from cybervault.kit.time import utcnow
from cybervault.scans.models import Finding, Scan, ScanFinding
from cybervault.scans.render import render_finding, render_scan
from cybervault.scans.repository import FindingRepository, findings_of_scans


@dataclass
class FindingInput:
    type: str
    severity: str
    details: str
    host: str
    port: int | None
    protocol: str = "tcp"
    cve: str | None = None
    service: dict[str, Any] | None = None
    cvss: float | None = None
    kev: bool = False
    epss: float | None = None
    confidence: str = "confirmed"

    @property
    def fingerprint(self) -> str:
        key = f"{self.host}|{self.port}|{self.protocol}|{self.type}|{self.cve or ''}"
        return hashlib.sha256(key.encode()).hexdigest()


def principal_for(row: TenantMixin) -> Principal:
    """Background work acts for a row's org and mode, with full access to that tenant only."""
    return Principal(org_id=row.org_id, livemode=row.livemode, key_id="system", kind="sk")


def _apply(finding: Finding, item: FindingInput, scan: Scan, now: dt.datetime) -> None:
    finding.severity, finding.details, finding.service = item.severity, item.details, item.service
    finding.cvss, finding.kev, finding.epss, finding.confidence = item.cvss, item.kev, item.epss, item.confidence
    finding.last_seen, finding.scan_id, finding.updated_at = now, scan.id, now
    if finding.status == "resolved":  # seen again: the fix did not hold
        finding.status, finding.status_reason = "open", f"Seen again by scan {scan.id}"


async def record_findings(session: AsyncSession, scan: Scan, items: list[FindingInput],
                          now: dt.datetime | None = None) -> int:
    """Upsert `items` for `scan` and link them to it; returns how many were new on their host."""
    now = now or utcnow()
    repo = FindingRepository(session, principal_for(scan))
    unique = {item.fingerprint: item for item in items}
    existing = await repo.by_fingerprints(list(unique))
    linked = set((await session.scalars(
        select(ScanFinding.finding_id).where(ScanFinding.scan_id == scan.id))).all())
    new = 0
    for fingerprint, item in unique.items():
        finding = existing.get(fingerprint)
        if finding is None:
            finding = Finding(
                id=new_id("fnd"), fingerprint=fingerprint, type=item.type, host=item.host, port=item.port,
                protocol=item.protocol, cve=item.cve, first_seen=now, status="open", created_at=now,
            )
            _apply(finding, item, scan, now)
            try:
                async with session.begin_nested():
                    repo.add(finding)
                    await session.flush()
            except IntegrityError:  # a concurrent scan of the same host inserted it first
                finding = (await repo.by_fingerprints([fingerprint]))[fingerprint]
                _apply(finding, item, scan, now)
            else:
                new += 1
                record_event(session, org_id=scan.org_id, livemode=scan.livemode, type="threat.detected",
                             obj=render_finding(finding), extra={"scan_id": scan.id})
        else:
            _apply(finding, item, scan, now)
        if finding.id not in linked:
            session.add(ScanFinding(scan_id=scan.id, finding_id=finding.id))
            linked.add(finding.id)
    await session.flush()
    scan.threats_found = len(linked)
    return new


async def clear_scan_links(session: AsyncSession, scan: Scan) -> None:
    """A restarted scan reports only what its final attempt found."""
    await session.execute(delete(ScanFinding).where(ScanFinding.scan_id == scan.id))
    scan.threats_found = 0


async def scan_object(session: AsyncSession, scan: Scan) -> dict[str, Any]:
    findings = (await findings_of_scans(session, [scan.id])).get(scan.id, [])
    return render_scan(scan, findings)


async def complete_scan(session: AsyncSession, scan: Scan, *, asset_ids: list[str] | None = None) -> None:
    now = utcnow()
    scan.status, scan.completed_at, scan.updated_at = "completed", now, now
    progress = dict(scan.progress or {})
    progress["percent"] = 100.0
    progress["hosts_done"] = progress.get("hosts_total", 0)
    progress["ports_done"] = progress.get("ports_total", 0)
    scan.progress = progress
    scan.threats_found = int(await session.scalar(
        select(func.count()).select_from(ScanFinding).where(ScanFinding.scan_id == scan.id)) or 0)
    if asset_ids:
        await session.execute(update(Asset).where(Asset.id.in_(asset_ids), Asset.org_id == scan.org_id,
                                                  Asset.livemode == scan.livemode).values(last_scanned_at=now))
    await session.flush()
    record_event(session, org_id=scan.org_id, livemode=scan.livemode, type="scan.completed",
                 obj=await scan_object(session, scan))


async def fail_scan(session: AsyncSession, scan: Scan, error: str) -> None:
    now = utcnow()
    scan.status, scan.error, scan.completed_at, scan.updated_at = "failed", error[:2000], now, now
    await session.flush()
    record_event(session, org_id=scan.org_id, livemode=scan.livemode, type="scan.failed",
                 obj=await scan_object(session, scan))
