"""In-memory CVE records and their construction from NVD CVE JSON 2.0 objects.

The shipped dataset, the NVD importer, the in-memory `VulnIndex` and the database all speak these types, so
one parser decides what a valid record is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from cybervault.vulns.cpe import Cpe, InvalidCpe, parse_cpe
from cybervault.vulns.versions import InvalidVersion, version_key

__all__ = [
    "Configuration",
    "CpeCriterion",
    "CveRecord",
    "KevInfo",
    "Node",
    "RecordError",
    "record_from_nvd",
    "severity_for",
]

CVE_ID = re.compile(r"^CVE-(\d{4})-(\d{4,12})$")
MAX_TEXT = 20_000  # descriptions longer than this are cut; NVD's longest are ~4 kB
MAX_CRITERIA = 5_000  # per record; real records stay in the hundreds


class RecordError(ValueError):
    """A record is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class CpeCriterion:
    criteria: str
    cpe: Cpe
    vulnerable: bool
    version_start_including: str | None = None
    version_start_excluding: str | None = None
    version_end_including: str | None = None
    version_end_excluding: str | None = None

    def to_nvd(self) -> dict[str, Any]:
        out: dict[str, Any] = {"vulnerable": self.vulnerable, "criteria": self.criteria}
        for key, val in (
            ("versionStartIncluding", self.version_start_including),
            ("versionStartExcluding", self.version_start_excluding),
            ("versionEndIncluding", self.version_end_including),
            ("versionEndExcluding", self.version_end_excluding),
        ):
            if val is not None:
                out[key] = val
        return out


@dataclass(frozen=True, slots=True)
class Node:
    operator: str  # "OR" | "AND"
    negate: bool
    matches: tuple[CpeCriterion, ...]


@dataclass(frozen=True, slots=True)
class Configuration:
    operator: str  # "OR" | "AND" across nodes
    negate: bool
    nodes: tuple[Node, ...]

    def to_nvd(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "nodes": [
                {"operator": n.operator, "negate": n.negate, "cpeMatch": [c.to_nvd() for c in n.matches]}
                for n in self.nodes
            ]
        }
        if len(self.nodes) > 1 or self.operator != "OR":
            out["operator"] = self.operator
        if self.negate:
            out["negate"] = True
        return out


@dataclass(frozen=True, slots=True)
class KevInfo:
    date_added: date
    due_date: date | None = None
    vulnerability_name: str | None = None
    required_action: str | None = None
    ransomware: str | None = None


@dataclass(slots=True)
class CveRecord:
    cve_id: str
    description: str
    published: datetime | None
    last_modified: datetime | None
    cvss_v31_vector: str | None = None
    cvss_v31_score: float | None = None
    cvss_v40_vector: str | None = None
    cvss_v40_score: float | None = None
    severity: str | None = None
    cwes: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    configurations: tuple[Configuration, ...] = ()
    kev: KevInfo | None = None
    epss: float | None = None
    epss_percentile: float | None = None
    vuln_status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cvss_score(self) -> float | None:
        return self.cvss_v31_score if self.cvss_v31_score is not None else self.cvss_v40_score

    @property
    def cvss_vector(self) -> str | None:
        return self.cvss_v31_vector or self.cvss_v40_vector

    def criteria(self) -> list[CpeCriterion]:
        return [c for cfg in self.configurations for n in cfg.nodes for c in n.matches]


def severity_for(score: float | None) -> str | None:
    """CVSS v3.1 qualitative bands."""
    if score is None:
        return None
    if score == 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def _str(obj: dict[str, Any], key: str, *, required: bool = False, limit: int = 1024) -> str | None:
    val = obj.get(key)
    if val is None:
        if required:
            raise RecordError(f"{key} is missing")
        return None
    if not isinstance(val, str):
        raise RecordError(f"{key} must be a string, got {type(val).__name__}")
    if len(val) > limit:
        raise RecordError(f"{key} is longer than {limit} characters")
    return val


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    val = obj.get(key)
    if val is None:
        return []
    if not isinstance(val, list):
        raise RecordError(f"{key} must be a list, got {type(val).__name__}")
    return val


def parse_timestamp(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(f"{name} is not an ISO-8601 timestamp") from exc
    # NVD writes naive UTC timestamps ("2017-03-11T02:59:00.523").
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_day(value: Any, name: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name} must be a date string")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise RecordError(f"{name} is not a date") from exc


def _score(val: Any, name: str) -> float:
    if isinstance(val, Decimal):  # ijson yields JSON numbers as Decimal
        val = float(val)
    if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
        raise RecordError(f"{name} must be a number")
    if not 0.0 <= float(val) <= 10.0:
        raise RecordError(f"{name} must be between 0 and 10")
    return float(val)


@lru_cache(maxsize=4096)
def cvss_base_score(vector: str) -> float:
    """Score a CVSS v3.x or v4.0 vector with the `cvss` library; RecordError if it is not valid."""
    try:
        if vector.startswith("CVSS:4.0/"):
            return float(CVSS4(vector).base_score)
        if vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            return float(CVSS3(vector).base_score)
    except (CVSSError, ValueError, KeyError) as exc:
        raise RecordError(f"invalid CVSS vector {vector[:80]!r}") from exc
    raise RecordError(f"unsupported CVSS vector {vector[:80]!r}")


def _pick_metric(metrics: dict[str, Any], key: str) -> dict[str, Any] | None:
    entries = metrics.get(key)
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise RecordError(f"metrics.{key} must be a list")
    primary = [e for e in entries if isinstance(e, dict) and e.get("type") == "Primary"]
    chosen = (primary or [e for e in entries if isinstance(e, dict)] or [None])[0]
    return chosen


_BOUND_KEYS = ("versionStartIncluding", "versionStartExcluding", "versionEndIncluding", "versionEndExcluding")


def _criterion(raw: Any) -> CpeCriterion:
    if not isinstance(raw, dict):
        raise RecordError("cpeMatch entries must be objects")
    criteria = raw.get("criteria")
    if type(criteria) is not str or len(criteria) > 512:  # the common case is checked inline (hot path)
        criteria = _str(raw, "criteria", required=True, limit=512)
    assert criteria is not None
    try:
        cpe = parse_cpe(criteria)
    except InvalidCpe as exc:
        raise RecordError(f"bad criteria {criteria[:80]!r}: {exc}") from exc
    vulnerable = raw.get("vulnerable", True)
    if not isinstance(vulnerable, bool):
        raise RecordError("vulnerable must be a boolean")
    bounds: list[str | None] = []
    for key in _BOUND_KEYS:
        val = raw.get(key)
        if val is not None:
            if type(val) is not str or len(val) > 128:
                val = _str(raw, key, limit=128)
                assert val is not None
            try:
                version_key(val)  # validates (cached); no Version object needed here
            except InvalidVersion as exc:
                raise RecordError(f"{key} {val[:40]!r} is not a version") from exc
        bounds.append(val)
    return CpeCriterion(criteria, cpe, vulnerable, bounds[0], bounds[1], bounds[2], bounds[3])


def _operator(raw: dict[str, Any], default: str = "OR") -> str:
    op = raw.get("operator", default)
    if op not in ("OR", "AND"):
        raise RecordError(f"operator must be OR or AND, got {str(op)[:20]!r}")
    return str(op)


def parse_configurations(raw_configs: list[Any]) -> tuple[Configuration, ...]:
    configs: list[Configuration] = []
    count = 0
    for raw in raw_configs:
        if not isinstance(raw, dict):
            raise RecordError("configurations entries must be objects")
        nodes: list[Node] = []
        for raw_node in _list(raw, "nodes"):
            if not isinstance(raw_node, dict):
                raise RecordError("nodes entries must be objects")
            matches = tuple(_criterion(c) for c in _list(raw_node, "cpeMatch"))
            count += len(matches)
            if count > MAX_CRITERIA:
                raise RecordError(f"more than {MAX_CRITERIA} cpeMatch entries")
            nodes.append(Node(_operator(raw_node), bool(raw_node.get("negate", False)), matches))
        configs.append(Configuration(_operator(raw), bool(raw.get("negate", False)), tuple(nodes)))
    return tuple(configs)


def record_from_nvd(cve: Any) -> CveRecord:
    """Build a record from one NVD 2.0 `cve` object (the value under `vulnerabilities[].cve`)."""
    if not isinstance(cve, dict):
        raise RecordError("cve must be an object")
    cve_id = _str(cve, "id", required=True, limit=32)
    assert cve_id is not None
    if not CVE_ID.match(cve_id):
        raise RecordError(f"id {cve_id!r} is not a CVE id")
    descriptions = _list(cve, "descriptions")
    text = ""
    for d in descriptions:
        if isinstance(d, dict) and d.get("lang") == "en" and isinstance(d.get("value"), str):
            text = d["value"]
            break
    if len(text) > MAX_TEXT:
        raise RecordError(f"description is longer than {MAX_TEXT} characters")
    metrics = cve.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise RecordError("metrics must be an object")
    v31_vec = v31_score = v40_vec = v40_score = None
    severity = None
    m31 = _pick_metric(metrics, "cvssMetricV31") or _pick_metric(metrics, "cvssMetricV30")
    if m31 is not None:
        data = m31.get("cvssData")
        if not isinstance(data, dict):
            raise RecordError("cvssData must be an object")
        v31_vec = _str(data, "vectorString", required=True, limit=200)
        assert v31_vec is not None
        # The vector is the fact; the score is derived from it (and checked when the file gives one).
        v31_score = cvss_base_score(v31_vec)
        if "baseScore" in data:
            _score(data.get("baseScore"), "baseScore")
        severity = severity_for(v31_score)
    m40 = _pick_metric(metrics, "cvssMetricV40")
    if m40 is not None:
        data = m40.get("cvssData")
        if not isinstance(data, dict):
            raise RecordError("cvssData must be an object")
        v40_vec = _str(data, "vectorString", required=True, limit=300)
        assert v40_vec is not None
        v40_score = _score(data.get("baseScore"), "baseScore") if "baseScore" in data else None
        if v40_score is None:
            v40_score = cvss_base_score(v40_vec)
        severity = severity or severity_for(v40_score)
    cwes: list[str] = []
    for w in _list(cve, "weaknesses"):
        if not isinstance(w, dict):
            raise RecordError("weaknesses entries must be objects")
        for d in _list(w, "description"):
            val = d.get("value") if isinstance(d, dict) else None
            if isinstance(val, str) and val.startswith(("CWE-", "NVD-CWE-")) and val not in cwes:
                cwes.append(val)
    refs = []
    for r in _list(cve, "references")[:500]:
        if isinstance(r, dict) and isinstance(r.get("url"), str) and len(r["url"]) <= 2048:
            refs.append(r["url"])
    kev = None
    if cve.get("cisaExploitAdd") is not None:
        added = parse_day(cve.get("cisaExploitAdd"), "cisaExploitAdd")
        assert added is not None
        kev = KevInfo(
            date_added=added,
            due_date=parse_day(cve.get("cisaActionDue"), "cisaActionDue"),
            vulnerability_name=_str(cve, "cisaVulnerabilityName", limit=1024),
            required_action=_str(cve, "cisaRequiredAction", limit=4096),
        )
    return CveRecord(
        cve_id=cve_id,
        description=text,
        published=parse_timestamp(_str(cve, "published", limit=64), "published"),
        last_modified=parse_timestamp(_str(cve, "lastModified", limit=64), "lastModified"),
        cvss_v31_vector=v31_vec,
        cvss_v31_score=v31_score,
        cvss_v40_vector=v40_vec,
        cvss_v40_score=v40_score,
        severity=severity,
        cwes=tuple(cwes),
        references=tuple(refs),
        configurations=parse_configurations(_list(cve, "configurations")),
        kev=kev,
        vuln_status=_str(cve, "vulnStatus", limit=64),
    )
