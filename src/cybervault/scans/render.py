"""API representations of scans, findings and schedules (the seed's fields first, in its order)."""

from __future__ import annotations

from typing import Any

from cybervault.kit.time import iso
from cybervault.scans.models import Finding, Scan, ScanSchedule

EMPTY_PROGRESS: dict[str, Any] = {"percent": 0.0, "hosts_total": 0, "hosts_done": 0, "ports_total": 0,
                                  "ports_done": 0}


def render_finding(finding: Finding) -> dict[str, Any]:
    return {
        "type": finding.type,
        "severity": finding.severity,
        "details": finding.details,
        "cve": finding.cve,
        "id": finding.id,
        "object": "finding",
        "livemode": finding.livemode,
        "host": finding.host,
        "port": finding.port,
        "protocol": finding.protocol,
        "service": finding.service,
        "cvss": finding.cvss,
        "kev": finding.kev,
        "epss": finding.epss,
        "confidence": finding.confidence,
        "first_seen": iso(finding.first_seen),
        "last_seen": iso(finding.last_seen),
        "status": finding.status,
        "status_reason": finding.status_reason,
        "scan_id": finding.scan_id,
    }


def render_scan(scan: Scan, findings: list[Finding]) -> dict[str, Any]:
    return {
        "scan_id": scan.id,
        "status": scan.status,
        "threats_found": scan.threats_found,
        "findings": [render_finding(f) for f in findings],
        "timestamp": iso(scan.completed_at or scan.started_at or scan.created_at),
        "id": scan.id,
        "object": "scan",
        "livemode": scan.livemode,
        "target": scan.target,
        "depth": scan.depth,
        "include_vulns": scan.include_vulns,
        "progress": {**EMPTY_PROGRESS, **(scan.progress or {})},
        "error": scan.error,
        "schedule_id": scan.schedule_id,
        "started_at": iso(scan.started_at),
        "completed_at": iso(scan.completed_at),
        "created": iso(scan.created_at),
    }


def render_schedule(schedule: ScanSchedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "object": "scan_schedule",
        "livemode": schedule.livemode,
        "target": schedule.target,
        "asset_ids": list(schedule.asset_ids or []),
        "depth": schedule.depth,
        "include_vulns": schedule.include_vulns,
        "interval_minutes": schedule.interval_minutes,
        "active": schedule.active,
        "next_run_at": iso(schedule.next_run_at),
        "last_run_at": iso(schedule.last_run_at),
        "last_scan_ids": list(schedule.last_scan_ids or []),
        "last_error": schedule.last_error,
        "created": iso(schedule.created_at),
    }
