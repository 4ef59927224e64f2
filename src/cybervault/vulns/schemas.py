"""API shapes for CVE objects."""

from __future__ import annotations

from typing import Any

from cybervault.kit.time import iso
from cybervault.vulns.models import Cve, EpssScore, KevEntry


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def render_cve(cve: Cve, *, livemode: bool, kev: KevEntry | None, epss: EpssScore | None,
               confidence: str | None = None, include_configurations: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cve.cve_id,
        "object": "cve",
        "livemode": livemode,
        "description": cve.description,
        "published": iso(cve.published),
        "last_modified": iso(cve.last_modified),
        "cvss": cve.cvss_score,
        "severity": cve.severity,
        "cvss_v3_1": ({"vector": cve.cvss_v31_vector, "score": cve.cvss_v31_score}
                      if cve.cvss_v31_vector else None),
        "cvss_v4_0": ({"vector": cve.cvss_v40_vector, "score": cve.cvss_v40_score}
                      if cve.cvss_v40_vector else None),
        "cwes": list(cve.cwes or []),
        "kev": kev is not None,
        "kev_details": None if kev is None else {
            "date_added": _day(kev.date_added),
            "due_date": _day(kev.due_date),
            "vulnerability_name": kev.vulnerability_name,
            "required_action": kev.required_action,
            "known_ransomware_campaign_use": kev.ransomware,
        },
        "epss": None if epss is None else epss.score,
        "epss_percentile": None if epss is None else epss.percentile,
        "references": list(cve.references or []),
        "source_url": f"https://nvd.nist.gov/vuln/detail/{cve.cve_id}",
        "data_source": cve.source,
    }
    if include_configurations:
        body["configurations"] = cve.configurations or []
    if confidence is not None:
        body["confidence"] = confidence
    return body
