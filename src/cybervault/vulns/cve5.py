"""CVE JSON 5 records (the CVE Program's format) turned into CveRecords.

CNA data has no NVD analysis: `affected[].versions` become CPE criteria built from the vendor and product
names (`lessThan` -> versionEndExcluding, `lessThanOrEqual` -> versionEndIncluding). Free-form version
strings that cannot be ordered are left out rather than guessed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from cybervault.vulns.cpe import InvalidCpe, parse_cpe
from cybervault.vulns.records import (
    MAX_TEXT,
    Configuration,
    CpeCriterion,
    CveRecord,
    Node,
    RecordError,
    cvss_base_score,
    parse_timestamp,
    severity_for,
)
from cybervault.vulns.versions import InvalidVersion, parse_version

__all__ = ["record_from_cve5"]

_NAME_CLEAN = re.compile(r"[^a-z0-9_.\-]+")
_NO_LOWER_BOUND = {"", "0", "*", "unspecified", "n/a", "-"}


def _cpe_name(value: str) -> str:
    return _NAME_CLEAN.sub("_", value.strip().lower()).strip("_")[:100]


def _escape(value: str) -> str:
    return re.sub(r"([^A-Za-z0-9_])", r"\\\1", value)


def _orderable(version: str) -> bool:
    try:
        parse_version(version)
        return True
    except InvalidVersion:
        return False


def _criteria_for(affected: dict[str, Any]) -> list[CpeCriterion]:
    vendor, product = affected.get("vendor"), affected.get("product")
    cpes = affected.get("cpes")
    base = None
    if isinstance(cpes, list):
        for text in cpes:
            if isinstance(text, str):
                try:
                    base = parse_cpe(text)
                    break
                except InvalidCpe:
                    continue
    if base is None:
        if not isinstance(vendor, str) or not isinstance(product, str) or not vendor or not product:
            return []
        v, p = _cpe_name(vendor), _cpe_name(product)
        if not v or not p:
            return []
        prefix = f"cpe:2.3:a:{_escape(v)}:{_escape(p)}"
    else:
        prefix = f"cpe:2.3:{base.part}:{_escape(base.vendor)}:{_escape(base.product)}"
    any_version = f"{prefix}:*:*:*:*:*:*:*:*"
    versions = affected.get("versions")
    out: list[CpeCriterion] = []
    if not isinstance(versions, list) or not versions:
        if affected.get("defaultStatus") == "affected":
            out.append(CpeCriterion(criteria=any_version, cpe=parse_cpe(any_version), vulnerable=True))
        return out
    for entry in versions[:500]:
        if not isinstance(entry, dict) or entry.get("status") != "affected":
            continue
        version = entry.get("version")
        version = version.strip() if isinstance(version, str) else ""
        less, less_eq = entry.get("lessThan"), entry.get("lessThanOrEqual")
        if isinstance(less, str) or isinstance(less_eq, str):
            start = version if version.lower() not in _NO_LOWER_BOUND and _orderable(version) else None
            end_ex = less if isinstance(less, str) and less not in ("*", "") and _orderable(less) else None
            end_in = less_eq if isinstance(less_eq, str) and less_eq not in ("*", "") and _orderable(less_eq) else None
            if (isinstance(less, str) and less not in ("*", "") and end_ex is None) or (
                isinstance(less_eq, str) and less_eq not in ("*", "") and end_in is None
            ):
                continue  # a bound we cannot order: leave it out rather than over-match
            out.append(CpeCriterion(criteria=any_version, cpe=parse_cpe(any_version), vulnerable=True,
                                    version_start_including=start, version_end_excluding=end_ex,
                                    version_end_including=end_in))
        elif version and version.lower() not in _NO_LOWER_BOUND and _orderable(version) and len(version) <= 100:
            exact = f"{prefix}:{_escape(version)}:*:*:*:*:*:*:*"
            out.append(CpeCriterion(criteria=exact, cpe=parse_cpe(exact), vulnerable=True))
    return out


def _metrics(containers: list[dict[str, Any]]) -> tuple[str | None, float | None, str | None, float | None]:
    v31 = v40 = None
    s31 = s40 = None
    for container in containers:
        for metric in container.get("metrics") or []:
            if not isinstance(metric, dict):
                continue
            for key in ("cvssV3_1", "cvssV3_0"):
                data = metric.get(key)
                if v31 is None and isinstance(data, dict) and isinstance(data.get("vectorString"), str):
                    v31 = data["vectorString"]
                    s31 = cvss_base_score(v31)
            data = metric.get("cvssV4_0")
            if v40 is None and isinstance(data, dict) and isinstance(data.get("vectorString"), str):
                v40 = data["vectorString"]
                score = data.get("baseScore")
                s40 = (float(score) if isinstance(score, int | float | Decimal) and 0 <= score <= 10
                       else cvss_base_score(v40))
    return v31, s31, v40, s40


def record_from_cve5(rec: Any) -> CveRecord:
    if not isinstance(rec, dict) or rec.get("dataType") != "CVE_RECORD":
        raise RecordError("not a CVE JSON 5 record (dataType must be CVE_RECORD)")
    meta = rec.get("cveMetadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("cveId"), str):
        raise RecordError("cveMetadata.cveId is missing")
    cve_id = meta["cveId"].strip().upper()
    if meta.get("state") == "REJECTED":
        raise RecordError("record is REJECTED")
    containers = rec.get("containers")
    if not isinstance(containers, dict) or not isinstance(containers.get("cna"), dict):
        raise RecordError("containers.cna is missing")
    cna: dict[str, Any] = containers["cna"]
    adp = [c for c in containers.get("adp") or [] if isinstance(c, dict)]
    text = ""
    for d in cna.get("descriptions") or []:
        if isinstance(d, dict) and str(d.get("lang", "")).startswith("en") and isinstance(d.get("value"), str):
            text = d["value"]
            break
    if len(text) > MAX_TEXT:
        raise RecordError(f"description is longer than {MAX_TEXT} characters")
    cwes: list[str] = []
    for pt in cna.get("problemTypes") or []:
        for d in (pt.get("descriptions") or []) if isinstance(pt, dict) else []:
            cwe = d.get("cweId") if isinstance(d, dict) else None
            if isinstance(cwe, str) and cwe.startswith("CWE-") and cwe not in cwes:
                cwes.append(cwe)
    refs = [r["url"] for r in (cna.get("references") or [])[:500]
            if isinstance(r, dict) and isinstance(r.get("url"), str) and len(r["url"]) <= 2048]
    affected = cna.get("affected") or []
    if not isinstance(affected, list):
        raise RecordError("affected must be a list")
    criteria = [c for a in affected if isinstance(a, dict) for c in _criteria_for(a)]
    configs = (Configuration("OR", False, (Node("OR", False, tuple(criteria)),)),) if criteria else ()
    v31, s31, v40, s40 = _metrics([cna, *adp])
    published = meta.get("datePublished") if isinstance(meta.get("datePublished"), str) else None
    updated = meta.get("dateUpdated") if isinstance(meta.get("dateUpdated"), str) else published
    return CveRecord(
        cve_id=cve_id,
        description=text,
        published=parse_timestamp(published, "datePublished"),
        last_modified=parse_timestamp(updated, "dateUpdated"),
        cvss_v31_vector=v31,
        cvss_v31_score=s31,
        cvss_v40_vector=v40,
        cvss_v40_score=s40,
        severity=severity_for(s31 if s31 is not None else s40),
        cwes=tuple(cwes),
        references=tuple(refs),
        configurations=configs,
        vuln_status=str(meta.get("state"))[:64] if meta.get("state") else None,
    )
