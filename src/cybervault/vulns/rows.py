"""A CVE record as database rows: the rows of `cves` and `cve_cpe_matches`, with the sort keys the SQL
matcher's prefilter compares. The import's parser processes build these; the repository only writes them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cybervault.vulns.bulk import tuple_converter
from cybervault.vulns.cpe import ANY, NA
from cybervault.vulns.models import Cve, CveCpeMatch
from cybervault.vulns.records import CVE_ID, CpeCriterion, CveRecord, KevInfo
from cybervault.vulns.versions import InvalidVersion, sortable_key, with_update

__all__ = ["CVE_COLUMNS", "HIGHEST", "LOWEST", "MATCH_COLUMNS", "PreparedRecord", "criterion_row", "cve_seq",
           "prepare_record"]


def cve_seq(cve_id: str) -> int:
    m = CVE_ID.match(cve_id)
    if not m:
        raise ValueError(f"not a CVE id: {cve_id!r}")
    return int(m.group(1)) * 100_000_000 + min(int(m.group(2)), 99_999_999)


def _key_or_none(version: str | None) -> str | None:
    if not version:
        return None
    try:
        return sortable_key(version)
    except InvalidVersion:
        return None


# Sentinels for open bounds: "" sorts before every key, "~" after every key (keys use 0-9 and a-z only),
# so the prefilter is two plain comparisons that an index range can serve.
LOWEST, HIGHEST = "", "~"


def criterion_row(cve_id: str, c: CpeCriterion, *, decisive: bool = False) -> dict[str, Any]:
    """The row for one criterion, with conservative lo/hi sort keys for the SQL version prefilter."""
    cpe = c.cpe
    lo: str | None = None
    hi: str | None = None
    if cpe.version == NA:
        lo, hi = HIGHEST, LOWEST  # matches no version
    elif cpe.version != ANY:
        # Exact version: the key of the version without update (covers openssh:9.1:* as well).
        lo = hi = _key_or_none(cpe.version)
        if cpe.update not in (ANY, NA):
            lo = hi = _key_or_none(with_update(cpe.version, cpe.update))
    else:
        lo = _key_or_none(c.version_start_including or c.version_start_excluding)
        hi = _key_or_none(c.version_end_including or c.version_end_excluding)
    return {
        "cve_id": cve_id,
        "part": cpe.part[:1],
        "vendor": cpe.vendor[:128],
        "product": cpe.product[:128],
        "vulnerable": c.vulnerable,
        "decisive": decisive and c.vulnerable,
        "criteria": c.criteria[:512],
        "version_start_including": c.version_start_including,
        "version_start_excluding": c.version_start_excluding,
        "version_end_including": c.version_end_including,
        "version_end_excluding": c.version_end_excluding,
        "lo_key": LOWEST if lo is None else lo,
        "hi_key": HIGHEST if hi is None else hi,
    }


def criterion_rows(record: CveRecord) -> list[dict[str, Any]]:
    rows = []
    for cfg in record.configurations:
        decisive = (not cfg.negate and len(cfg.nodes) == 1 and cfg.nodes[0].operator == "OR"
                    and not cfg.nodes[0].negate)
        for node in cfg.nodes:
            for c in node.matches:
                rows.append(criterion_row(record.cve_id, c, decisive=decisive))
    return rows


def cve_row(record: CveRecord, source: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "cve_id": record.cve_id,
        "seq": cve_seq(record.cve_id),
        "description": record.description,
        "published": record.published,
        "last_modified": record.last_modified,
        "vuln_status": record.vuln_status,
        "cvss_v31_vector": record.cvss_v31_vector,
        "cvss_v31_score": record.cvss_v31_score,
        "cvss_v40_vector": record.cvss_v40_vector,
        "cvss_v40_score": record.cvss_v40_score,
        "cvss_score": record.cvss_score,
        "severity": record.severity,
        "cwes": list(record.cwes),
        "references": list(record.references),
        "configurations": [cfg.to_nvd() for cfg in record.configurations],
        "source": source,
        "imported_at": now,
    }


CVE_COLUMNS = ("cve_id", "seq", "description", "published", "last_modified", "vuln_status", "cvss_v31_vector",
               "cvss_v31_score", "cvss_v40_vector", "cvss_v40_score", "cvss_score", "severity", "cwes",
               "references", "configurations", "source", "imported_at")
MATCH_COLUMNS = ("cve_id", "part", "vendor", "product", "vulnerable", "decisive", "criteria",
                 "version_start_including", "version_start_excluding", "version_end_including",
                 "version_end_excluding", "lo_key", "hi_key")


@dataclass(slots=True)
class PreparedRecord:
    """A record as finished database rows for one dialect: the import worker process builds these."""

    cve_id: str
    last_modified: dt.datetime | None
    kev: KevInfo | None
    cve: tuple[Any, ...]
    matches: list[tuple[Any, ...]]


_CONVERTERS: dict[str, tuple[Any, Any]] = {}


def _converters(dialect: str) -> tuple[Any, Any]:
    conv = _CONVERTERS.get(dialect)
    if conv is None:
        conv = _CONVERTERS[dialect] = (tuple_converter(Cve.__table__, CVE_COLUMNS, dialect),
                                       tuple_converter(CveCpeMatch.__table__, MATCH_COLUMNS, dialect))
    return conv


def prepare_record(record: CveRecord, source: str, now: dt.datetime, dialect: str) -> PreparedRecord:
    cve_conv, match_conv = _converters(dialect)
    row = cve_row(record, source, now)
    return PreparedRecord(
        cve_id=record.cve_id,
        last_modified=record.last_modified,
        kev=record.kev,
        cve=cve_conv([row[c] for c in CVE_COLUMNS]),
        matches=[match_conv([m[c] for c in MATCH_COLUMNS]) for m in criterion_rows(record)],
    )
