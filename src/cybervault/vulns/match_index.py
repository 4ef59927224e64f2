"""An in-memory index of the CVE database for matching: every vulnerable criterion compiled once.

Matching through SQL costs, for a popular product, a query returning hundreds of candidate rows and
Python work per row (p99 60-180 ms on 250,000 CVEs). Here each criterion becomes plain version-key
comparisons, stored in columns per product and sorted by (lower, upper) bound in blocks that remember
their highest upper bound, so a lookup only visits blocks that can contain the version.

Exactness: the compiled comparisons reproduce `matching.criterion_hits` for the shapes NVD uses; any
other criterion (escaped CPE names, a sw_edition, exact versions that do not parse, two bounds on one
side) keeps a CpeCriterion and goes through `criterion_hits` itself. What a hit means for the CVE is
decided when compiling: CONFIRMED (the criterion sits in a plain OR configuration), POTENTIAL (every
other configuration of the CVE is vulnerable criteria ANDed with platform criteria about other products,
which a scan cannot see), or EVALUATE (the CVE's configurations are evaluated in full by
`matching.match_record`). tests/vulns/test_match_index.py compares the two paths on random data.
"""

from __future__ import annotations

import bisect
from array import array
from typing import Any, NamedTuple

from cybervault.vulns.cpe import ANY, NA, InvalidCpe, parse_cpe
from cybervault.vulns.matching import Confidence, Target, criterion_hits, match_record
from cybervault.vulns.products import UPDATE_FIELD_PRODUCTS, product_group, vendors_equivalent
from cybervault.vulns.records import Configuration, CpeCriterion, CveRecord
from cybervault.vulns.versions import InvalidVersion, split_update, version_key, with_update

__all__ = ["IndexBuilder", "IndexedMatch", "MatchIndex", "classify_raw_configurations"]

CONFIRMED, POTENTIAL, EVALUATE = 0, 1, 2
RANGE, EXACT = 0, 1
BLOCK = 32
_OPEN_LO: tuple[Any, ...] = ()  # sorts before every version key
_TOP: tuple[Any, ...] = ((9,),)
_NAN = float("nan")
_new_tuple = tuple.__new__  # sorts after every version key (element classes are 0-3); sorting only
# flag bits of one criterion
_LO_STRICT, _LO_NOUPD, _HI_STRICT, _HI_NOUPD, _BASE_OK, _SLOW = 1, 2, 4, 8, 16, 32

Bounds = tuple[str | None, str | None, str | None, str | None]


class IndexedMatch(NamedTuple):
    """One CVE affecting the target (a tuple: thousands are built per lookup of a busy product)."""

    cve_id: str
    seq: int
    cvss_score: float | None
    cvss_vector: str | None
    severity: str | None
    kev: bool
    epss: float | None
    confidence: Confidence


def _fields(criteria: str) -> tuple[str, str, str, str, str, str] | None:
    """(part, vendor, product, version, update, sw_edition) of a CPE name, or None when it is invalid."""
    if "\\" not in criteria and criteria[:8].lower() == "cpe:2.3:":
        p = criteria.split(":")
        if len(p) == 13:
            return (p[2].lower() or ANY, p[3].lower() or ANY, p[4].lower() or ANY, p[5].lower() or ANY,
                    p[6].lower() or ANY, p[9].lower() or ANY)
    try:
        c = parse_cpe(criteria)
    except InvalidCpe:
        return None
    return c.part, c.vendor, c.product, c.version, c.update, c.sw_edition


def _product_of(criteria: str) -> str | None:
    f = _fields(criteria)
    return None if f is None else f[2]


def classify_raw_configurations(raw: list[Any]) -> int:
    """POTENTIAL when every non-plain configuration (NVD JSON) is one node of vulnerable criteria ANDed with
    nodes of platform criteria about other products (a hit then evaluates to *unknown*); else EVALUATE."""
    try:
        for cfg in raw:
            nodes = cfg.get("nodes") or []
            if (len(nodes) == 1 and (nodes[0].get("operator") or "OR") == "OR" and not nodes[0].get("negate")
                    and not cfg.get("negate")):
                continue  # plain: its criteria are CONFIRMED on their own rows
            if cfg.get("negate") or (cfg.get("operator") or "OR") != "AND":
                return EVALUATE
            vulnerable: list[str] = []  # product names of the one node of vulnerable criteria
            platform: list[str] = []  # product names of the platform nodes
            vulnerable_nodes = 0
            for node in nodes:
                matches = node.get("cpeMatch") or []
                if node.get("negate") or (node.get("operator") or "OR") != "OR" or not matches:
                    return EVALUATE
                flags = {bool(m.get("vulnerable")) for m in matches}
                names = [_product_of(str(m.get("criteria") or "")) for m in matches]
                if len(flags) != 1 or None in names:
                    return EVALUATE
                if flags == {True}:
                    vulnerable_nodes += 1
                    vulnerable.extend(names)  # type: ignore[arg-type]
                else:
                    platform.extend(names)  # type: ignore[arg-type]
            if vulnerable_nodes != 1:
                return EVALUATE
            groups: set[str] = set()
            for name in vulnerable:
                groups |= product_group(name)
            if any(name == ANY or name in groups for name in platform):
                return EVALUATE
    except (AttributeError, TypeError):
        return EVALUATE
    return POTENTIAL


class _Table:
    """The criteria of one product, in columns (memory: ~35 bytes a criterion)."""

    __slots__ = ("lo", "hi", "flags", "kind", "part", "vendor", "cve", "outcome", "slow", "block_first_lo",
                 "block_max_hi")

    def __init__(self) -> None:
        self.lo: list[tuple[Any, ...]] = []
        self.hi: list[tuple[Any, ...] | None] = []
        self.flags = bytearray()
        self.kind = bytearray()
        self.part: list[str] = []
        self.vendor: list[str] = []
        self.cve = array("i")
        self.outcome = bytearray()
        self.slow: dict[int, CpeCriterion] = {}
        self.block_first_lo: list[tuple[Any, ...]] = []
        self.block_max_hi: list[tuple[Any, ...] | None] = []  # None: the block holds an open or slow range

    def pack(self) -> None:
        """Sort by (lower, upper) bound and summarise each block of BLOCK criteria."""
        hi = self.hi
        order = sorted(range(len(self.lo)), key=lambda i: (self.lo[i], _TOP if hi[i] is None else hi[i]))
        self.lo = [self.lo[i] for i in order]
        self.hi = [hi[i] for i in order]
        self.flags = bytearray(self.flags[i] for i in order)
        self.kind = bytearray(self.kind[i] for i in order)
        self.part = [self.part[i] for i in order]
        self.vendor = [self.vendor[i] for i in order]
        self.cve = array("i", (self.cve[i] for i in order))
        self.outcome = bytearray(self.outcome[i] for i in order)
        if self.slow:
            new_place = {old: new for new, old in enumerate(order)}
            self.slow = {new_place[old]: crit for old, crit in self.slow.items()}
        for start in range(0, len(order), BLOCK):
            self.block_first_lo.append(self.lo[start])
            his = self.hi[start:start + BLOCK]
            # Slow criteria are compiled without an upper bound, so "open" covers them too.
            self.block_max_hi.append(None if None in his else max(his))  # type: ignore[type-var]


class IndexBuilder:
    """Collects CVE metadata first, then configurations and criteria; `build()` packs the index.

    Criteria go straight into their product's columns (no object per criterion: at a million criteria,
    temporary objects would double the peak memory); `build()` sorts each table once."""

    def __init__(self, token: str) -> None:
        self.index = MatchIndex(token)
        self._position: dict[str, int] = {}
        self._outcome_of: dict[int, int] = {}
        self._keys: dict[str, tuple[Any, ...]] = {}
        self._strings: dict[str, str] = {}

    def _intern(self, value: str) -> str:
        return self._strings.setdefault(value, value)

    def _key(self, text: str) -> tuple[Any, ...]:
        k = self._keys.get(text)
        if k is None:
            k = self._keys[text] = version_key(text)  # shared tuples: many criteria name the same versions
        return k

    def add_cve(self, cve_id: str, seq: int, score: float | None, vector: str | None, severity: str | None,
                kev: bool, epss: float | None) -> None:
        ix = self.index
        self._position[cve_id] = len(ix.cve_ids)
        ix.cve_ids.append(cve_id)
        ix.seq.append(seq)
        ix.score.append(_NAN if score is None else score)
        ix.vector.append(None if vector is None else self._intern(vector))
        ix.severity.append(None if severity is None else self._intern(severity))
        ix.kev.append(1 if kev else 0)
        ix.epss.append(_NAN if epss is None else epss)

    def add_configurations(self, cve_id: str, raw: list[Any], parse: Any) -> None:
        """The NVD configurations of a CVE with a vulnerable criterion outside a plain OR configuration."""
        pos = self._position.get(cve_id)
        if pos is None:
            return
        outcome = classify_raw_configurations(raw)
        self._outcome_of[pos] = outcome
        if outcome == EVALUATE:
            self.index.configurations[pos] = parse(raw)

    def add_criterion(self, cve_id: str, criteria: str, bounds: Bounds, decisive: bool) -> None:
        pos = self._position.get(cve_id)
        if pos is None:
            return
        outcome = CONFIRMED if decisive else self._outcome_of.get(pos, EVALUATE)
        if outcome == EVALUATE and pos not in self.index.configurations:
            return  # configurations unreadable: no path can evaluate this CVE
        compiled = self._compile(criteria, bounds)
        if compiled is None:
            return
        product, lo, hi, flags, kind, part, vendor, slow = compiled
        t = self.index.products.get(product)
        if t is None:
            t = self.index.products[product] = _Table()
        if slow is not None:
            t.slow[len(t.lo)] = slow
        t.lo.append(lo)
        t.hi.append(hi)
        t.flags.append(flags)
        t.kind.append(kind)
        t.part.append(part)
        t.vendor.append(vendor)
        t.cve.append(pos)
        t.outcome.append(outcome)

    def _compile(self, criteria: str, bounds: Bounds) -> tuple[Any, ...] | None:
        """(product, lo, hi, flags, kind, part, vendor, slow) or None for a criterion that matches nothing."""
        f = _fields(criteria)
        if f is None:
            return None
        part, vendor, product, version, update, sw_edition = f
        part, vendor = self._intern(part), self._intern(vendor)
        if version == NA:
            return None
        if sw_edition != ANY:
            return self._slow(product, part, vendor, criteria, bounds)
        if version != ANY:
            try:
                k = self._key(with_update(version, update) if update not in (ANY, NA) else version)
            except InvalidVersion:
                return self._slow(product, part, vendor, criteria, bounds)  # compared as text
            return product, k, k, _BASE_OK if update == ANY else 0, EXACT, part, vendor, None
        start_incl, start_excl, end_incl, end_excl = bounds
        if (start_incl and start_excl) or (end_incl and end_excl):
            return self._slow(product, part, vendor, criteria, bounds)
        lo_text, hi_text = start_incl or start_excl, end_incl or end_excl
        try:
            lo = self._key(lo_text) if lo_text else _OPEN_LO
            hi = self._key(hi_text) if hi_text else None
        except InvalidVersion:
            return None  # criterion_hits answers False for every version when a bound does not parse
        flags = ((_LO_STRICT if start_excl else 0) | (_HI_STRICT if end_excl else 0)
                 | (_LO_NOUPD if lo_text and split_update(lo_text)[1] is None else 0)
                 | (_HI_NOUPD if hi_text and split_update(hi_text)[1] is None else 0))
        return product, lo, hi, flags, RANGE, part, vendor, None

    def _slow(self, product: str, part: str, vendor: str, criteria: str, bounds: Bounds) -> tuple[Any, ...] | None:
        try:
            crit = CpeCriterion(criteria, parse_cpe(criteria), True, *bounds)
        except InvalidCpe:
            return None
        return product, _OPEN_LO, None, _SLOW, RANGE, part, vendor, crit

    def build(self) -> MatchIndex:
        for t in self.index.products.values():
            t.pack()
        self.index.rank_results()
        self._keys.clear()
        self._position.clear()
        self._outcome_of.clear()
        self._strings.clear()
        return self.index


class MatchIndex:
    """CVE metadata in columns plus per-product criteria tables; read-only once built."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.cve_ids: list[str] = []
        self.seq = array("q")
        self.score = array("d")  # NaN: no score
        self.vector: list[str | None] = []
        self.severity: list[str | None] = []
        self.kev = bytearray()
        self.epss = array("d")  # NaN: no EPSS score
        self.products: dict[str, _Table] = {}
        self.configurations: dict[int, tuple[Configuration, ...]] = {}
        self.rank = array("i")
        self._fields: dict[int, tuple[Any, ...]] = {}

    def __len__(self) -> int:
        return len(self.cve_ids)

    @property
    def criteria_count(self) -> int:
        return sum(len(t.lo) for t in self.products.values())

    def match(self, target: Target) -> list[IndexedMatch]:
        """The CVEs affecting `target`, highest score first, known-exploited first, then newest."""
        try:
            full = version_key(target.full_version)
            base_text, t_update = split_update(target.full_version)
            base = version_key(base_text)
        except InvalidVersion:
            return []
        best: dict[int, int] = {}  # cve position -> best outcome (CONFIRMED < POTENTIAL < EVALUATE)
        vendor_ok: dict[str, bool] = {}
        for product in (*product_group(target.product), ANY):
            table = self.products.get(product)
            if table is not None:
                _scan(table, target, full, base, t_update is not None, vendor_ok, best)
        backport = target.backport_possible
        out: list[IndexedMatch] = []
        for pos in sorted(best, key=self.rank.__getitem__):  # the result order, precomputed per CVE
            outcome = best[pos]
            if outcome == EVALUATE:
                record = CveRecord(cve_id=self.cve_ids[pos], description="", published=None, last_modified=None,
                                   configurations=self.configurations[pos])
                confidence = match_record(record, target)
                if confidence is None:
                    continue
            elif outcome == CONFIRMED and not backport:
                confidence = Confidence.CONFIRMED
            else:
                confidence = Confidence.POTENTIAL
            fields = self._fields.get(pos) or self._fields_of(pos)
            out.append(_new_tuple(IndexedMatch, fields + (confidence,)))  # what IndexedMatch(...) does, minus a call
        return out

    def _fields_of(self, pos: int) -> tuple[Any, ...]:
        """IndexedMatch's fields but the confidence, kept for CVEs that were answered once (busy products
        return a thousand CVEs per lookup; building each from the columns was half of the lookup)."""
        score, epss = self.score[pos], self.epss[pos]
        fields = (self.cve_ids[pos], self.seq[pos], None if score != score else score, self.vector[pos],
                  self.severity[pos], self.kev[pos] == 1, None if epss != epss else epss)
        self._fields[pos] = fields
        return fields

    def rank_results(self) -> None:
        """Precompute each CVE's place in the result order: highest score, known-exploited, newest first."""
        score, kev, seq = self.score, self.kev, self.seq
        order = sorted(range(len(self.cve_ids)),
                       key=lambda p: (-(0.0 if score[p] != score[p] else score[p]), kev[p] == 0, -seq[p]))
        rank = array("i", bytes(4 * len(order)))
        for place, pos in enumerate(order):
            rank[pos] = place
        self.rank = rank


def _scan(t: _Table, target: Target, full: tuple[Any, ...], base: tuple[Any, ...], has_update: bool,
          vendor_ok: dict[str, bool], best: dict[int, int]) -> None:
    """Add the hits of one product table to `best`; the comparisons mirror matching.version_in_criterion."""
    update_field = target.product in UPDATE_FIELD_PRODUCTS
    t_part, t_vendor = target.part, target.vendor
    lo_col, hi_col, flags_col, kinds, parts, vendors, cves, outcomes = (
        t.lo, t.hi, t.flags, t.kind, t.part, t.vendor, t.cve, t.outcome)
    n = len(lo_col)
    # Blocks are sorted by lower bound: those starting above the version cannot hold a match (base <= full).
    for b in range(bisect.bisect_right(t.block_first_lo, full)):
        max_hi = t.block_max_hi[b]
        if max_hi is not None and max_hi < base:
            continue
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            f = flags_col[i]
            if f & _SLOW:
                if not criterion_hits(t.slow[i], target):
                    continue
            else:
                part = parts[i]
                if t_part != ANY and part != ANY and part != t_part:
                    continue
                vendor = vendors[i]
                if t_vendor and vendor != ANY:
                    ok = vendor_ok.get(vendor)
                    if ok is None:
                        ok = vendor_ok[vendor] = vendors_equivalent(vendor, t_vendor)
                    if not ok:
                        continue
                if kinds[i] == EXACT:
                    k = lo_col[i]
                    if full != k and not (update_field and f & _BASE_OK and has_update and base == k):
                        continue
                else:
                    lo = lo_col[i]
                    if lo:
                        v = base if update_field and f & _LO_NOUPD else full
                        if v < lo or (f & _LO_STRICT and v == lo):
                            continue
                    hi = hi_col[i]
                    if hi is not None:
                        v = base if update_field and f & _HI_NOUPD else full
                        if v > hi or (f & _HI_STRICT and v == hi):
                            continue
            pos = cves[i]
            outcome = outcomes[i]
            prev = best.get(pos)
            if prev is None or outcome < prev:
                best[pos] = outcome
