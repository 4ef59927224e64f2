"""What triage reads from other domains: assets, open findings and CVE facts.

Each domain is optional (the installation may not have it yet): a missing domain simply matches nothing.
Every query is tenant-scoped, uses an index and is bounded, so triage cost does not grow with the org.
"""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.auth import Principal

MAX_CIDR_EXPANSION = 1024  # a CIDR system up to this many addresses is matched host by host
MAX_ASSETS = 500
MAX_FINDINGS = 100


@dataclass
class AssetFacts:
    id: str
    target: str
    kind: str
    name: str | None
    tags: list[str]
    criticality: str


@dataclass
class FindingFacts:
    id: str
    host: str
    port: int | None
    type: str
    severity: str
    cve: str | None
    kev: bool
    cvss: float | None


@dataclass
class CveFacts:
    id: str
    kev: bool = False
    cvss: float | None = None
    severity: str | None = None
    known: bool = False


@dataclass
class SystemMatch:
    assets: list[AssetFacts] = field(default_factory=list)
    by_system: dict[str, list[str]] = field(default_factory=dict)  # system → matched asset ids


def _model(module: str, name: str) -> Any | None:
    try:
        if importlib.util.find_spec(module) is None:
            return None
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _asset_columns(model: Any) -> tuple[Any, ...]:
    # Plain columns, not ORM entities: triage only reads them, and entity loading costs CPU per row.
    return (model.id, model.target, model.kind, model.name, model.tags, model.criticality)


def _asset_facts(row: Any) -> AssetFacts:
    return AssetFacts(id=row.id, target=row.target, kind=row.kind, name=row.name, tags=list(row.tags or []),
                      criticality=row.criticality or "medium")


def _supernets(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """Every CIDR that contains `network`, spelled as assets store them (network address/prefix)."""
    if network.version == 4:  # integer arithmetic: this runs for every IP on every create
        value = int(network.network_address)
        out = []
        for prefix in range(network.prefixlen - 1, -1, -1):
            v = value & (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
            out.append(f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}/{prefix}")
        return out
    return [str(network.supernet(new_prefix=p)) for p in range(network.prefixlen - 1, -1, -1)]


async def match_systems(session: AsyncSession, principal: Principal, systems: list[str]) -> SystemMatch:
    """Resolve systems to assets using only the (org, mode, target) unique index and primary keys.

    An IP or CIDR system matches an asset with the same target, any CIDR asset that contains it (looked up
    by spelling out its supernets, at most 32 for IPv4) and, for ranges up to MAX_CIDR_EXPANSION addresses,
    the IP assets inside it. Hostnames and asset ids match exactly.
    """
    result = SystemMatch(by_system={s: [] for s in systems})
    asset_model = _model("cybervault.assets.models", "Asset")
    if asset_model is None or not systems:
        return result
    tenant = (asset_model.org_id == principal.org_id, asset_model.livemode == principal.livemode)
    ids = [s for s in systems if s.startswith("ast_")]
    ips: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address] = {}
    nets: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
    targets: dict[str, None] = {}
    for s in systems:
        if s.startswith("ast_"):
            continue
        targets.setdefault(s, None)
        try:
            ips[s] = ipaddress.ip_address(s)
            targets.update(dict.fromkeys(_supernets(ipaddress.ip_network(s))))
            continue
        except ValueError:
            pass
        try:
            net = ipaddress.ip_network(s, strict=False)
        except ValueError:
            continue  # a hostname: exact match only
        nets[s] = net
        targets.update(dict.fromkeys(_supernets(net)))
        if net.num_addresses <= MAX_CIDR_EXPANSION:
            targets.update(dict.fromkeys(str(h) for h in (net.hosts() if net.num_addresses > 2 else net)))
    found: dict[str, AssetFacts] = {}
    if ids:
        stmt = select(*_asset_columns(asset_model)).where(*tenant, asset_model.id.in_(ids))
        for row in (await session.execute(stmt)).all():
            found[row.id] = _asset_facts(row)
    wanted = list(targets)
    for start in range(0, len(wanted), 2000):  # stay far below bind-parameter limits
        stmt = select(*_asset_columns(asset_model)).where(*tenant,
                                                          asset_model.target.in_(wanted[start:start + 2000]))
        for row in (await session.execute(stmt.limit(MAX_ASSETS))).all():
            found[row.id] = _asset_facts(row)
        if len(found) >= MAX_ASSETS:
            break
    for asset in found.values():
        for system in systems:
            if _system_covers(system, asset, ips, nets):
                result.by_system[system].append(asset.id)
    result.assets = sorted(found.values(), key=lambda a: a.id)[:MAX_ASSETS]
    return result


def _system_covers(system: str, asset: AssetFacts, ips: dict[str, Any], nets: dict[str, Any]) -> bool:
    if system == asset.id or system == asset.target.lower():
        return True
    try:
        asset_net = ipaddress.ip_network(asset.target, strict=False)
    except ValueError:
        return False
    if system in ips:
        return ips[system].version == asset_net.version and ips[system] in asset_net
    if system in nets:
        return nets[system].version == asset_net.version and nets[system].overlaps(asset_net)
    return False


async def open_findings(session: AsyncSession, principal: Principal, hosts: list[str]) -> list[FindingFacts]:
    """Open findings on these hosts, worst first, at most MAX_FINDINGS (findings are indexed by host)."""
    finding_model = _model("cybervault.scans.models", "Finding")
    if finding_model is None or not hosts:
        return []
    f = finding_model
    stmt = (select(f.id, f.host, f.port, f.type, f.severity, f.cve, f.kev, f.cvss)
            .where(finding_model.org_id == principal.org_id, finding_model.livemode == principal.livemode,
                   finding_model.host.in_(sorted(set(hosts))[:MAX_CIDR_EXPANSION]), finding_model.status == "open")
            .limit(MAX_FINDINGS * 5))
    rows = (await session.execute(stmt)).all()
    facts = [FindingFacts(id=r.id, host=r.host, port=r.port, type=r.type, severity=r.severity, cve=r.cve,
                          kev=bool(r.kev), cvss=r.cvss) for r in rows]
    rank = {"critical": 4, "high": 3, "medium": 2, "low": 1}
    facts.sort(key=lambda f: (not f.kev, -rank.get(f.severity, 0), -(f.cvss or 0), f.id))
    return facts[:MAX_FINDINGS]


@lru_cache(maxsize=1)
def _shipped_cves() -> dict[str, CveFacts]:
    try:
        from cybervault.vulns.dataset import load_shipped_records
    except ImportError:
        return {}
    return {r.cve_id: CveFacts(id=r.cve_id, kev=r.kev is not None, cvss=r.cvss_score, severity=r.severity,
                               known=True) for r in load_shipped_records()}


async def cve_facts(session: AsyncSession, cve_ids: list[str]) -> dict[str, CveFacts]:
    """KEV flag and CVSS for each id: the CVE database when installed, else the dataset shipped offline."""
    out = {cve_id: CveFacts(id=cve_id) for cve_id in cve_ids}
    if not cve_ids:
        return out
    rows = await _from_database(session, cve_ids)
    shipped = _shipped_cves() if len(rows) < len(cve_ids) else {}
    for cve_id in cve_ids:
        fact = rows.get(cve_id) or shipped.get(cve_id)
        if fact is not None:
            out[cve_id] = fact
    return out


async def _from_database(session: AsyncSession, cve_ids: list[str]) -> dict[str, CveFacts]:
    """CVSS from the CVE table, the KEV flag from the KEV catalog table (both primary-key lookups)."""
    cve_model = _model("cybervault.vulns.models", "Cve")
    kev_model = _model("cybervault.vulns.models", "KevEntry")
    if cve_model is None:
        return {}
    out: dict[str, CveFacts] = {}
    if kev_model is None:
        stmt = select(cve_model.cve_id, cve_model.cvss_score, cve_model.severity, literal(None))
    else:  # one round trip: the KEV catalog joined on its primary key
        stmt = (select(cve_model.cve_id, cve_model.cvss_score, cve_model.severity, kev_model.cve_id)
                .outerjoin(kev_model, kev_model.cve_id == cve_model.cve_id))
    for cve_id, cvss, severity, kev_id in (await session.execute(stmt.where(cve_model.cve_id.in_(cve_ids)))).all():
        out[cve_id] = CveFacts(id=cve_id, cvss=cvss, severity=severity, known=True, kev=kev_id is not None)
    return out
