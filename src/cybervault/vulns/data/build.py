"""Compile `curated.txt` into the shipped NVD CVE JSON 2.0 feed `cves.json.gz`.

Run after editing the curated list: `python -m cybervault.vulns.data.build`. The output is an ordinary
NVD JSON 2.0 feed, so the shipped data goes through the same importer as any NVD download.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cybervault.vulns.records import cvss_base_score, severity_for

HERE = Path(__file__).parent
SOURCE = HERE / "curated.txt"
OUTPUT = HERE / "cves.json.gz"
# Fixed so that rebuilding an unchanged list gives identical records (idempotent re-imports); move it
# forward when rows change, so that installs holding the older shipped rows replace them.
DATASET_TIMESTAMP = "2026-11-29T00:00:00.000"

_ITEM = re.compile(
    r"^(?P<platform>!)?(?:(?P<part>[aoh])/)?(?P<vendor>[\w.\-]+):(?P<product>[\w.\-]+)"
    r"(?:\[(?P<sw>[\w\-]+)\])?\s+(?P<spec>\S+)$"
)
_BOUNDS = re.compile(r"^(?:(?P<lop>>=|>)(?P<low>[^<>=]+))?(?:(?P<hop><=|<)(?P<high>[^<>=]+))?$")


@dataclass(frozen=True)
class CuratedRow:
    cve_id: str
    check: str  # "V" compared with the NVD record, "C" with the CVE 5 record only, "M" from memory
    record: dict[str, Any]


def _cpe(part: str, vendor: str, product: str, version: str, update: str, sw: str) -> str:
    def esc(v: str) -> str:
        return v if v in ("*", "-") else re.sub(r"([^A-Za-z0-9_])", r"\\\1", v)

    return f"cpe:2.3:{part}:{esc(vendor)}:{esc(product)}:{esc(version)}:{esc(update)}:*:*:{esc(sw)}:*:*:*"


def _criterion(item: str) -> tuple[bool, dict[str, Any]]:
    m = _ITEM.match(item.strip())
    if not m:
        raise ValueError(f"bad affects item {item!r}")
    part = m.group("part") or "a"
    vendor, product, sw = m.group("vendor"), m.group("product"), m.group("sw") or "*"
    spec = m.group("spec")
    out: dict[str, Any] = {"vulnerable": not m.group("platform")}
    if spec == "*":
        out["criteria"] = _cpe(part, vendor, product, "*", "*", sw)
    elif spec.startswith("="):
        version, _, update = spec[1:].partition(":")
        out["criteria"] = _cpe(part, vendor, product, version, update or "*", sw)
    else:
        b = _BOUNDS.match(spec)
        if not b or not (b.group("low") or b.group("high")):
            raise ValueError(f"bad version spec {spec!r}")
        out["criteria"] = _cpe(part, vendor, product, "*", "*", sw)
        if b.group("low"):
            key = "versionStartIncluding" if b.group("lop") == ">=" else "versionStartExcluding"
            out[key] = b.group("low")
        if b.group("high"):
            key = "versionEndIncluding" if b.group("hop") == "<=" else "versionEndExcluding"
            out[key] = b.group("high")
    seed = json.dumps(out, sort_keys=True)
    out["matchCriteriaId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, seed)).upper()
    return bool(out["vulnerable"]), out


def parse_line(line: str) -> CuratedRow:
    fields = [f.strip() for f in line.split(" | ")]
    if len(fields) != 8:
        raise ValueError(f"expected 8 fields, got {len(fields)}: {line[:60]!r}")
    cve_id, published, vector, cwe, kev, check, affects, description = fields
    vector = vector if vector.startswith("CVSS:") else f"CVSS:3.1/{vector}"
    score = cvss_base_score(vector)
    vulnerable, platforms = [], []
    for item in affects.split(";"):
        is_vuln, crit = _criterion(item)
        (vulnerable if is_vuln else platforms).append(crit)
    nodes = [{"operator": "OR", "negate": False, "cpeMatch": vulnerable}]
    config: dict[str, Any] = {"nodes": nodes}
    if platforms:
        nodes.append({"operator": "OR", "negate": False, "cpeMatch": platforms})
        config["operator"] = "AND"
    cve: dict[str, Any] = {
        "id": cve_id,
        "sourceIdentifier": "cybervault-curated",
        "published": f"{published}T00:00:00.000",
        "lastModified": DATASET_TIMESTAMP,
        "vulnStatus": "Analyzed",
        "cveTags": [],
        "descriptions": [{"lang": "en", "value": description}],
        "metrics": {
            "cvssMetricV31": [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "cvssData": {
                        "version": "3.1",
                        "vectorString": vector,
                        "baseScore": score,
                        "baseSeverity": (severity_for(score) or "none").upper(),
                    },
                }
            ]
        },
        "weaknesses": [
            {"source": "nvd@nist.gov", "type": "Primary", "description": [{"lang": "en", "value": cwe}]}
        ],
        "configurations": [config],
        "references": [
            {"url": f"https://nvd.nist.gov/vuln/detail/{cve_id}", "source": "nvd@nist.gov"},
            {"url": f"https://www.cve.org/CVERecord?id={cve_id}", "source": "cve.org"},
        ],
    }
    if kev != "-":
        added, _, due = kev.partition("/")
        cve["cisaExploitAdd"] = added
        cve["cisaActionDue"] = due or None
        cve["cisaRequiredAction"] = "Apply updates per vendor instructions."
        cve["cisaVulnerabilityName"] = description.split(":")[0][:120]
    if check not in ("V", "C", "M"):
        raise ValueError(f"{cve_id}: check must be V, C or M")
    return CuratedRow(cve_id=cve_id, check=check, record=cve)


def read_curated(path: Path = SOURCE) -> list[CuratedRow]:
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            rows.append(parse_line(raw))
    ids = [r.cve_id for r in rows]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate rows: {sorted(dupes)}")
    return rows


def build(path: Path = OUTPUT) -> int:
    rows = read_curated()
    feed = {
        "resultsPerPage": len(rows),
        "startIndex": 0,
        "totalResults": len(rows),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": DATASET_TIMESTAMP,
        "vulnerabilities": [{"cve": r.record} for r in rows],
    }
    data = json.dumps(feed, indent=None, separators=(",", ":"), sort_keys=False).encode()
    # mtime=0 keeps the gzip bytes stable between builds.
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return len(rows)


if __name__ == "__main__":  # pragma: no cover
    print(f"wrote {build()} records to {OUTPUT}")  # noqa: T201
