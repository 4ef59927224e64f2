"""Matching an observed service against CVE configurations with NVD's semantics.

A configuration is a tree of nodes; each node combines CPE match criteria with OR/AND and may be negated;
a configuration combines its nodes with OR/AND. Criteria with `vulnerable: false` describe the platform a
vulnerable product must run on (Citrix firmware on a given appliance, a plugin on a given OS).

We observe one product. Evaluation is three-valued: a criterion about our product is true or false; a
platform criterion about something we cannot see is *unknown*. A configuration that is true gives a
`confirmed` match; one that is unknown (it needs a platform we could not observe) gives `potential`.
A version read from a distribution banner is always `potential`: distributions backport fixes.

The same functions serve the in-memory `VulnIndex` and the database-backed matcher in `service.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cybervault.vulns.cpe import ANY, NA, Cpe, InvalidCpe, parse_cpe
from cybervault.vulns.products import (
    UPDATE_FIELD_PRODUCTS,
    canonical_product,
    infer_sw_edition,
    product_group,
    vendors_equivalent,
)
from cybervault.vulns.records import Configuration, CpeCriterion, CveRecord, Node
from cybervault.vulns.versions import (
    InvalidVersion,
    ObservedVersion,
    parse_observed_version,
    split_update,
    version_key,
    with_update,
)

__all__ = [
    "Confidence",
    "IndexMatch",
    "Target",
    "VulnIndex",
    "criterion_hits",
    "evaluate_configuration",
    "match_record",
    "version_in_criterion",
]


class Confidence(StrEnum):
    CONFIRMED = "confirmed"
    POTENTIAL = "potential"


@dataclass(frozen=True, slots=True)
class Target:
    """One observed product. `version` is the upstream version (distro suffix removed)."""

    vendor: str | None
    product: str
    version: str
    update: str | None = None
    part: str = ANY
    sw_edition: str = ANY
    backport_possible: bool = False

    @classmethod
    def from_service(
        cls, *, vendor: str | None, product: str | None, version: str | None, cpe: str | None = None
    ) -> Target | None:
        """Build a target from what a scan saw; None when there is no usable product or version."""
        parsed: Cpe | None = None
        if cpe:
            try:
                parsed = parse_cpe(cpe)
            except InvalidCpe:
                parsed = None
        part = ANY
        update: str | None = None
        if parsed is not None:
            part = parsed.part
            if parsed.vendor not in (ANY, NA) and parsed.product not in (ANY, NA):
                # A CPE names the product more precisely than a banner's display name.
                vendor, product = parsed.vendor, parsed.product
            if not version and parsed.has_version:
                version = parsed.version
                if parsed.update not in (ANY, NA):
                    update = parsed.update
        if not product or not version:
            return None
        try:
            observed: ObservedVersion = parse_observed_version(version)
        except InvalidVersion:
            return None
        v, p = canonical_product(vendor, product)
        return cls(
            vendor=v,
            product=p,
            version=observed.upstream,
            update=update,
            part=part,
            sw_edition=infer_sw_edition(p, observed.upstream),
            backport_possible=observed.backport_possible,
        )

    @property
    def full_version(self) -> str:
        return with_update(self.version, self.update) if self.update else self.version


def _same_version(a: str, b: str) -> bool:
    try:
        return version_key(a) == version_key(b)
    except InvalidVersion:
        return a.lower() == b.lower()


def _bound_cmp(target: Target, bound: str) -> int:
    """Compare the target with a range bound the way NVD does.

    For products that keep patch levels in the CPE update field, a bound without an update (`8.5`) is
    compared with the version field alone (`8.5p1` -> `8.5`).
    """
    full = target.full_version
    if target.product in UPDATE_FIELD_PRODUCTS and split_update(bound)[1] is None:
        full = split_update(full)[0]
    a, b = version_key(full), version_key(bound)
    return (a > b) - (a < b)


def version_in_criterion(c: CpeCriterion, target: Target) -> bool:
    cv = c.cpe.version
    if cv == NA:
        return False
    try:
        if cv != ANY:
            # An exact version in the criteria, optionally with an update (openssh:8.5:p1).
            upd = c.cpe.update
            if upd not in (ANY, NA):
                return _same_version(target.full_version, with_update(cv, upd))
            if _same_version(target.full_version, cv):
                return True
            if target.product in UPDATE_FIELD_PRODUCTS:
                base, t_upd = split_update(target.full_version)
                # openssh:8.5:* covers 8.5p1; openssh:8.5:- is the release without an update.
                return upd == ANY and t_upd is not None and _same_version(base, cv)
            return False
        if c.version_start_including and _bound_cmp(target, c.version_start_including) < 0:
            return False
        if c.version_start_excluding and _bound_cmp(target, c.version_start_excluding) <= 0:
            return False
        if c.version_end_including and _bound_cmp(target, c.version_end_including) > 0:
            return False
        if c.version_end_excluding and _bound_cmp(target, c.version_end_excluding) >= 0:
            return False
        return True
    except InvalidVersion:
        return False


def criterion_hits(c: CpeCriterion, target: Target) -> bool:
    cpe = c.cpe
    if target.part not in (ANY, cpe.part) and cpe.part != ANY:
        return False
    if cpe.product != ANY and cpe.product not in product_group(target.product):
        return False
    if cpe.sw_edition not in (ANY, target.sw_edition) and target.sw_edition != ANY:
        return False
    if target.vendor and cpe.vendor != ANY and not vendors_equivalent(cpe.vendor, target.vendor):
        return False
    return version_in_criterion(c, target)


# Three-valued logic: True, False, None (= unknown: depends on a platform we cannot observe).
Tri = bool | None


def _node_value(node: Node, target: Target) -> Tri:
    values: list[Tri] = []
    for c in node.matches:
        if criterion_hits(c, target):
            values.append(True)
        elif not c.vulnerable:
            values.append(None)
        else:
            values.append(False)
    result = _combine(node.operator, values)
    return _negate(result) if node.negate else result


def _combine(operator: str, values: list[Tri]) -> Tri:
    if not values:
        return False
    if operator == "AND":
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _negate(value: Tri) -> Tri:
    return None if value is None else not value


def evaluate_configuration(cfg: Configuration, target: Target) -> Tri:
    result = _combine(cfg.operator, [_node_value(n, target) for n in cfg.nodes])
    return _negate(result) if cfg.negate else result


def _mentions_target(cfg: Configuration, target: Target) -> bool:
    return any(c.vulnerable and criterion_hits(c, target) for n in cfg.nodes for c in n.matches)


def match_record(record: CveRecord, target: Target) -> Confidence | None:
    """The confidence with which `record` affects `target`, or None when it does not."""
    best: Confidence | None = None
    for cfg in record.configurations:
        if not _mentions_target(cfg, target):
            continue  # a configuration about other products says nothing about ours
        value = evaluate_configuration(cfg, target)
        if value is True:
            best = Confidence.CONFIRMED
            break
        if value is None:
            best = Confidence.POTENTIAL
    if best is Confidence.CONFIRMED and target.backport_possible:
        return Confidence.POTENTIAL
    return best


@dataclass(frozen=True, slots=True)
class IndexMatch:
    record: CveRecord
    confidence: Confidence


class VulnIndex:
    """CVE records in memory, indexed by product name (the CLI scan and tests use it)."""

    def __init__(self, records: Iterable[CveRecord] = ()) -> None:
        self._by_product: dict[str, list[CveRecord]] = defaultdict(list)
        self._records: dict[str, CveRecord] = {}
        for r in records:
            self.add(r)

    def add(self, record: CveRecord) -> None:
        old = self._records.get(record.cve_id)
        if old is not None:
            for lst in self._by_product.values():
                if old in lst:
                    lst.remove(old)
        self._records[record.cve_id] = record
        for product in {c.cpe.product for c in record.criteria() if c.vulnerable}:
            self._by_product[product].append(record)

    def __len__(self) -> int:
        return len(self._records)

    def get(self, cve_id: str) -> CveRecord | None:
        return self._records.get(cve_id.upper())

    def match(self, target: Target) -> list[IndexMatch]:
        seen: set[str] = set()
        out: list[IndexMatch] = []
        for product in product_group(target.product):
            for record in self._by_product.get(product, ()):
                if record.cve_id in seen:
                    continue
                seen.add(record.cve_id)
                confidence = match_record(record, target)
                if confidence is not None:
                    out.append(IndexMatch(record, confidence))
        out.sort(key=lambda m: (-(m.record.cvss_score or 0.0), m.record.cve_id))
        return out

    def match_service(
        self, *, vendor: str | None, product: str | None, version: str | None, cpe: str | None = None
    ) -> list[IndexMatch]:
        target = Target.from_service(vendor=vendor, product=product, version=version, cpe=cpe)
        return [] if target is None else self.match(target)
