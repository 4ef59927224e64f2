"""Vulnerability intelligence rules: matching services to CVEs, reading CVEs, loading the shipped dataset."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import InvalidRequest, ResourceNotFound
from cybervault.kit.pagination import list_object
from cybervault.vulns.cpe import Cpe, InvalidCpe, parse_cpe
from cybervault.vulns.dataset import SHIPPED_DATASET, load_shipped_records
from cybervault.vulns.match_cache import cached_index
from cybervault.vulns.match_index import IndexedMatch
from cybervault.vulns.matching import Confidence, Target, criterion_hits, match_record
from cybervault.vulns.models import Cve, VulnDatasetState
from cybervault.vulns.products import UPDATE_FIELD_PRODUCTS, canonical_product, product_group
from cybervault.vulns.records import CVE_ID, Configuration, CpeCriterion, CveRecord, RecordError, parse_configurations
from cybervault.vulns.repository import CveStore
from cybervault.vulns.rows import cve_seq
from cybervault.vulns.schemas import render_cve
from cybervault.vulns.versions import InvalidVersion, sortable_key, split_update

__all__ = [
    "CveMatch",
    "CveQuery",
    "get_cve",
    "list_cves",
    "load_shipped_dataset",
    "match_service",
    "normalise_cve_id",
    "render_one",
]


# What match_service returns: cve_id, seq, cvss_score, cvss_vector, severity, kev, epss, confidence.
CveMatch = IndexedMatch


@lru_cache(maxsize=8192)
def _cpe(criteria: str) -> Cpe | None:
    try:
        return parse_cpe(criteria)
    except InvalidCpe:
        return None


class _ConfigCache:
    """Parsed configurations of recently matched CVEs, keyed by id and lastModified."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str], tuple[Configuration, ...]] = OrderedDict()

    def get(self, cve_id: str, last_modified: Any, raw: Any) -> tuple[Configuration, ...]:
        key = (cve_id, last_modified.isoformat() if last_modified else "")
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
            return hit
        try:
            parsed = parse_configurations(raw or [])
        except RecordError:
            parsed = ()
        self.items[key] = parsed
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return parsed


_configs = _ConfigCache()


@lru_cache(maxsize=65536)
def _criterion(criteria: str, vulnerable: bool, start_incl: str | None, start_excl: str | None,
               end_incl: str | None, end_excl: str | None) -> CpeCriterion | None:
    cpe = _cpe(criteria)
    if cpe is None:
        return None
    return CpeCriterion(criteria=criteria, cpe=cpe, vulnerable=vulnerable, version_start_including=start_incl,
                        version_start_excluding=start_excl, version_end_including=end_incl,
                        version_end_excluding=end_excl)


async def match_target(session: AsyncSession, target: Target) -> list[IndexedMatch]:
    """CVEs whose NVD configurations include `target`, best first (highest score, known-exploited, newest).

    Answered from the in-memory index when it reflects the current data, otherwise through SQL."""
    index = await cached_index(session)
    if index is not None:
        return index.match(target)
    return await match_target_sql(session, target)


async def match_target_sql(session: AsyncSession, target: Target) -> list[IndexedMatch]:
    """match_target through the database: a range-prefiltered query, then the exact rules in Python."""
    full = target.full_version
    base = split_update(full)[0] if target.product in UPDATE_FIELD_PRODUCTS else full
    try:
        full_key, base_key = sortable_key(full), sortable_key(base)
    except InvalidVersion:
        return []
    store = CveStore(session)
    rows = await store.candidate_criteria(sorted(product_group(target.product)), full_key, base_key)
    hit: dict[str, bool] = {}  # cve id -> a decisive criterion hit
    by_id: dict[str, Any] = {}
    for row in rows:
        if hit.get(row[0]):
            continue
        crit = _criterion(row[1], row[2], row[3], row[4], row[5], row[6])
        if crit is not None and criterion_hits(crit, target):
            hit[row[0]] = hit.get(row[0], False) or bool(row[7])
            by_id[row[0]] = row
    if not hit:
        return []
    cves = list(by_id.values())
    complex_ids = [c.cve_id for c in cves if not hit[c.cve_id]]
    configs = await store.configurations_for(complex_ids) if complex_ids else {}
    out: list[IndexedMatch] = []
    for cve in cves:
        if hit[cve.cve_id]:
            # A criterion in a plain OR configuration hit: that configuration is true.
            confidence: Confidence | None = Confidence.CONFIRMED
        else:
            modified, raw = configs.get(cve.cve_id, (None, []))
            record = CveRecord(cve_id=cve.cve_id, description="", published=None, last_modified=None,
                               configurations=_configs.get(cve.cve_id, modified, raw))
            confidence = match_record(record, target)
        if confidence is Confidence.CONFIRMED and target.backport_possible:
            confidence = Confidence.POTENTIAL
        if confidence is not None:
            out.append(IndexedMatch(cve.cve_id, cve.seq, cve.cvss_score, cve.cvss_v31_vector or cve.cvss_v40_vector,
                                    cve.severity, cve.kev_id is not None, cve.epss, confidence))
    out.sort(key=lambda m: (-(m.cvss_score or 0.0), not m.kev, -m.seq))
    return out


async def match_service(
    session: AsyncSession, *, vendor: str | None, product: str | None, version: str | None, cpe: str | None = None
) -> list[CveMatch]:
    """CVEs affecting a service a scan saw (vendor/product/version as the banner or CPE gave them)."""
    target = Target.from_service(vendor=vendor, product=product, version=version, cpe=cpe)
    if target is None:
        return []
    return await match_target(session, target)


def normalise_cve_id(value: str, *, param: str = "cve_id") -> str:
    cve_id = value.strip().upper()
    if not CVE_ID.match(cve_id):
        raise InvalidRequest(f"'{value[:40]}' is not a CVE id like CVE-2017-5638.", param=param)
    return cve_id


async def get_cve(session: AsyncSession, cve_id: str) -> Cve:
    cve = await CveStore(session).get(normalise_cve_id(cve_id))
    if cve is None:
        raise ResourceNotFound(f"No such CVE: '{cve_id[:40]}'", param="cve_id")
    return cve


def target_for_query(product: str | None, version: str | None, cpe: str | None) -> tuple[Target | None, list[str]]:
    """Turn the list filters into a target to match (with a version) or product names to filter by."""
    if cpe:
        try:
            parsed = parse_cpe(cpe)
        except InvalidCpe as exc:
            raise InvalidRequest(str(exc), param="cpe") from exc
        if parsed.product in ("*", "-"):
            raise InvalidRequest("The CPE must name a product.", param="cpe")
    if version and not (product or cpe):
        raise InvalidRequest("'version' needs 'product' or 'cpe'.", param="version")
    if version or (cpe and _cpe(cpe) is not None and _cpe(cpe).has_version):  # type: ignore[union-attr]
        target = Target.from_service(vendor=None, product=product, version=version, cpe=cpe)
        if target is None:
            raise InvalidRequest("'version' is not a version this API can compare.", param="version")
        return target, []
    if cpe:
        parsed = parse_cpe(cpe)
        _, name = canonical_product(parsed.vendor, parsed.product)
        return None, sorted(product_group(name))
    if product:
        _, name = canonical_product(None, product)
        return None, sorted(product_group(name))
    return None, []


async def load_shipped_dataset(session: AsyncSession) -> int:
    """Load the curated dataset shipped in the package; a no-op when this exact file is already loaded.

    Returns the number of CVE rows inserted or replaced. Imported NVD data is never overwritten.
    """
    raw = SHIPPED_DATASET.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    state = await session.get(VulnDatasetState, "shipped")
    if state is not None and state.digest == digest:
        return 0
    records = load_shipped_records()
    counts = await CveStore(session).upsert_records(records, source="curated")
    if state is None:
        session.add(VulnDatasetState(name="shipped", digest=digest, records=len(records), loaded_at=utcnow()))
    else:
        state.digest, state.records, state.loaded_at = digest, len(records), utcnow()
    await session.flush()
    return counts.inserted + counts.updated


@dataclass(frozen=True)
class CveQuery:
    product: str | None = None
    version: str | None = None
    cpe: str | None = None
    kev: bool | None = None
    min_cvss: float | None = None
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None


async def render_one(session: AsyncSession, principal: Principal, cve_id: str) -> dict[str, Any]:
    cve = await get_cve(session, cve_id)
    store = CveStore(session)
    kev = (await store.kev_for([cve.cve_id])).get(cve.cve_id)
    epss = (await store.epss_for([cve.cve_id])).get(cve.cve_id)
    return render_cve(cve, livemode=principal.livemode, kev=kev, epss=epss)


def _cursor_seq(value: str | None, param: str) -> int | None:
    if value is None:
        return None
    return cve_seq(normalise_cve_id(value, param=param))


async def list_cves(session: AsyncSession, principal: Principal, q: CveQuery, *, url: str) -> dict[str, Any]:
    """Newest CVE first (by id). With a version, exact NVD-range matching with a confidence per CVE."""
    after, before = _cursor_seq(q.starting_after, "starting_after"), _cursor_seq(q.ending_before, "ending_before")
    target, products = target_for_query(q.product, q.version, q.cpe)
    store = CveStore(session)
    confidence: dict[str, str] = {}
    if target is not None:
        matches = await match_target(session, target)
        rows = [
            c for c in matches
            if (q.min_cvss is None or (c.cvss_score is not None and c.cvss_score >= q.min_cvss))
            and (q.kev is None or c.kev == q.kev)
        ]
        confidence = {m.cve_id: m.confidence.value for m in matches}
        rows.sort(key=lambda c: c.seq, reverse=True)
        if before is not None:
            newer = [c for c in rows if c.seq > before]
            picked = newer[-q.limit:]
            has_more = len(newer) > q.limit
        else:
            older = [c for c in rows if after is None or c.seq < after]
            picked = older[: q.limit]
            has_more = len(older) > q.limit
        full = await store.cves_by_id([c.cve_id for c in picked])
        page = [full[c.cve_id] for c in picked if c.cve_id in full]
    else:
        stmt = store.list_statement(products=products or None, kev=q.kev, min_cvss=q.min_cvss)
        if before is not None:
            stmt = stmt.where(Cve.seq > before).order_by(Cve.seq.asc())
        else:
            if after is not None:
                stmt = stmt.where(Cve.seq < after)
            stmt = stmt.order_by(Cve.seq.desc())
        page = list((await session.scalars(stmt.limit(q.limit + 1))).all())
        has_more = len(page) > q.limit
        page = page[: q.limit]
        if before is not None:
            page.reverse()
    ids = [c.cve_id for c in page]
    kev = await store.kev_for(ids)
    epss = await store.epss_for(ids)
    data = [
        render_cve(c, livemode=principal.livemode, kev=kev.get(c.cve_id), epss=epss.get(c.cve_id),
                   confidence=confidence.get(c.cve_id), include_configurations=False)
        for c in page
    ]
    return list_object(url, data, has_more)
