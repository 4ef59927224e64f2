from __future__ import annotations

import datetime as dt
import ipaddress
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.repository import TenantRepository
from cybervault.scans.models import ACTIVE_STATUSES, Finding, Scan, ScanFinding, ScanSchedule

TYPE_ORDER = {t: i for i, t in enumerate((
    "open_port", "unauthenticated_service", "cleartext_protocol", "weak_tls", "certificate_problem",
    "vulnerable_service"))}


def _host_key(host: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (9, 0, host)
    return (address.version, int(address), "")


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """By host (numerically), port, then exposure before CVEs: reads like a report, and like the seed."""
    return sorted(findings, key=lambda f: (_host_key(f.host), f.port or 0, TYPE_ORDER.get(f.type, 99),
                                           f.cve or "", f.id))


class ScanRepository(TenantRepository[Scan]):
    model = Scan
    noun = "scan"

    async def count_active(self) -> int:
        stmt = self.select(func.count()).where(Scan.status.in_(ACTIVE_STATUSES))
        return int(await self.session.scalar(stmt) or 0)

    async def count_since(self, since: dt.datetime) -> int:
        return int(await self.session.scalar(self.select(func.count()).where(Scan.created_at >= since)) or 0)

    def filtered(self, *, status: str | None) -> Select[Any]:
        stmt = self.select()
        return stmt.where(Scan.status == status) if status else stmt


async def findings_of_scans(session: AsyncSession, scan_ids: list[str]) -> dict[str, list[Finding]]:
    """The findings each scan produced (tenant already checked by loading the scans)."""
    out: dict[str, list[Finding]] = defaultdict(list)
    if not scan_ids:
        return out
    rows = await session.execute(
        select(ScanFinding.scan_id, Finding).join(Finding, Finding.id == ScanFinding.finding_id)
        .where(ScanFinding.scan_id.in_(scan_ids)))
    for scan_id, finding in rows.all():
        out[scan_id].append(finding)
    return {k: sort_findings(v) for k, v in out.items()}


class FindingRepository(TenantRepository[Finding]):
    model = Finding
    noun = "finding"

    def filtered(self, *, severity: str | None, type: str | None, host: str | None, cve: str | None,
                 status: str | None, scan_id: str | None = None) -> Select[Any]:
        stmt = self.select()
        for column, value in ((Finding.severity, severity), (Finding.type, type), (Finding.host, host),
                              (Finding.status, status)):
            if value:
                stmt = stmt.where(column == value)
        if cve:
            stmt = stmt.where(Finding.cve == cve.upper())
        if scan_id:
            stmt = stmt.where(Finding.id.in_(select(ScanFinding.finding_id).where(ScanFinding.scan_id == scan_id)))
        return stmt

    async def by_fingerprints(self, fingerprints: list[str]) -> dict[str, Finding]:
        if not fingerprints:
            return {}
        rows = await self.session.scalars(self.select().where(Finding.fingerprint.in_(fingerprints)))
        return {f.fingerprint: f for f in rows.all()}


class ScheduleRepository(TenantRepository[ScanSchedule]):
    model = ScanSchedule
    noun = "scan schedule"
