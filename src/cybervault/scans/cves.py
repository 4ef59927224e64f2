"""CVE cross-referencing of detected services, through the vulnerability module when it is installed.

A missing or failing matcher never fails a scan: the scan just reports no CVE findings.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.scanner.models import PortResult, ServiceInfo
from cybervault.scans.results import FindingInput

log = structlog.get_logger(__name__)
Matcher = Callable[..., Awaitable[list[Any]]]


def severity_for_cvss(score: float | None, fallback: str | None = None) -> str:
    """CVSS v3.1 bands; a score of 0.0 ('none') is still reported, as low."""
    if score is None:
        return fallback if fallback in ("low", "medium", "high", "critical") else "medium"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


def load_matcher() -> Matcher | None:
    try:
        module = importlib.import_module("cybervault.vulns.service")
    except ImportError:
        return None
    return getattr(module, "match_service", None)


def service_dict(service: ServiceInfo | None) -> dict[str, Any] | None:
    if service is None:
        return None
    return {"name": service.name, "product": service.product, "version": service.version, "cpe": service.cpe}


def vendor_product(service: ServiceInfo) -> tuple[str | None, str | None]:
    """NVD vendor and product from the service's CPE 2.3 name (cpe:2.3:a:vendor:product:…)."""
    if service.cpe and service.cpe.startswith("cpe:2.3:"):
        parts = service.cpe.split(":")
        if len(parts) > 4:
            return parts[3], parts[4]
    return None, service.product


async def cve_findings(session: AsyncSession, port: PortResult, matcher: Matcher | None) -> list[FindingInput]:
    service = port.service
    if matcher is None or service is None or not service.product or not service.version:
        return []
    vendor, product = vendor_product(service)
    try:
        matches = await matcher(session, vendor=vendor, product=product, version=service.version, cpe=service.cpe)
    except Exception as exc:  # the matcher is a helper, never a reason to fail the scan
        log.warning("scans.cve_match_failed", error=str(exc), product=product, version=service.version)
        return []
    distro = bool(service.extra.get("distro"))
    label = f"{service.product} {service.version}"
    out: list[FindingInput] = []
    for match in matches:
        score = getattr(match, "cvss_score", None)
        confidence = getattr(match, "confidence", None) or "confirmed"
        if distro:  # a distro may have backported the fix without changing the upstream version
            confidence = "potential"
        out.append(FindingInput(
            type="vulnerable_service", severity=severity_for_cvss(score, getattr(match, "severity", None)),
            details=f"{label} detected", host=port.host, port=port.port, protocol=port.protocol,
            cve=str(match.cve_id), service=service_dict(service),
            cvss=float(score) if score is not None else None, kev=bool(getattr(match, "kev", False)),
            epss=getattr(match, "epss", None), confidence=confidence,
        ))
    return out


def draft_to_input(draft: Any) -> FindingInput:
    """The engine's FindingDraft (no CVE, no scores) as a finding to persist."""
    data = asdict(draft)
    return FindingInput(
        type=data["type"], severity=data["severity"], details=data["details"], host=data["host"],
        port=data["port"], protocol=data["protocol"], cve=data.get("cve"),
        service=service_dict(draft.service),
    )
