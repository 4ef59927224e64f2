"""The in-memory match index answers exactly as the SQL matcher, and never from stale data."""

from __future__ import annotations

import random
from typing import Any

import pytest

from cybervault.kit.db import Database
from cybervault.vulns.match_cache import build_index, cached_index, set_enabled, warm_index
from cybervault.vulns.match_index import EVALUATE, POTENTIAL, classify_raw_configurations
from cybervault.vulns.matching import Target
from cybervault.vulns.records import record_from_nvd
from cybervault.vulns.repository import CveStore
from cybervault.vulns.service import match_service, match_target_sql


@pytest.fixture(autouse=True)
def index_on(db: Database) -> Any:
    """The suite turns the index off for its shared apps (tests/conftest.py); these tests need it."""
    set_enabled(db.engine, True)
    yield
    set_enabled(db.engine, False)


# Products with the special rules: update fields (openssh, proftpd), sw_edition (jenkins), vendor aliases.
PRODUCTS = [("a", "openbsd", "openssh"), ("a", "apache", "http_server"), ("a", "proftpd", "proftpd"),
            ("a", "jenkins", "jenkins"), ("a", "redislabs", "redis"), ("o", "fortinet", "fortios"),
            ("a", "otherco", "http_server")]
VERSIONS = ["1.0", "1.0.0-rc1", "2.4", "2.4.0", "2.4.49", "2.4.50", "2.5.10", "2.5.10.1", "8.5", "8.5p1",
            "8.9p1", "9.2p1", "9.0.0.M1", "9.0.0", "1.3.3", "1.3.3c", "7.0.11", "2.401", "2.401.3", "13.1-49.13"]


def _criterion(rng: random.Random, product: tuple[str, str, str], vulnerable: bool = True) -> dict[str, Any]:
    part, vendor, name = product
    roll = rng.random()
    if roll < 0.25:  # exact version, sometimes with an update or the "-"/"*" update
        version = rng.choice(VERSIONS)
        update = rng.choice(["*", "*", "-", "p1", "c", "m1", "rc1"])
        return {"vulnerable": vulnerable, "criteria": f"cpe:2.3:{part}:{vendor}:{name}:{version}:{update}:*:*:*:*:*:*"}
    if roll < 0.3:  # an edition, a version that does not parse, or "no version"
        edition, version = rng.choice([("lts", "*"), ("*", "n/a"), ("*", "-")])
        return {"vulnerable": vulnerable, "criteria": f"cpe:2.3:{part}:{vendor}:{name}:{version}:*:*:*:{edition}:*:*:*",
                **({"versionEndExcluding": "2.401.3"} if edition == "lts" else {})}
    out: dict[str, Any] = {"vulnerable": vulnerable, "criteria": f"cpe:2.3:{part}:{vendor}:{name}:*:*:*:*:*:*:*:*"}
    low, high = sorted(rng.sample(VERSIONS, 2), key=VERSIONS.index)
    if rng.random() < 0.6:
        out[rng.choice(["versionStartIncluding", "versionStartExcluding"])] = low
    if rng.random() < 0.8:
        out[rng.choice(["versionEndIncluding", "versionEndExcluding"])] = high
    if rng.random() < 0.05:
        out["versionEndExcluding" if "versionEndIncluding" in out else "versionEndIncluding"] = high
    return out


def _configuration(rng: random.Random) -> dict[str, Any]:
    product = rng.choice(PRODUCTS)
    vulnerable = {"operator": "OR", "negate": False,
                  "cpeMatch": [_criterion(rng, product) for _ in range(rng.randrange(1, 4))]}
    roll = rng.random()
    if roll < 0.55:
        return {"nodes": [vulnerable]}
    platform_product = rng.choice([("h", "citrix", "adc"), ("o", "microsoft", "windows"), product])
    platform = {"operator": "OR", "negate": roll > 0.9,
                "cpeMatch": [_criterion(rng, platform_product, vulnerable=False)]}
    nodes = [vulnerable, platform]
    if 0.8 < roll <= 0.9:  # vulnerable criteria in both nodes
        nodes.append({"operator": "OR", "negate": False, "cpeMatch": [_criterion(rng, rng.choice(PRODUCTS))]})
    return {"operator": "AND", "negate": roll > 0.97, "nodes": nodes}


def random_records(seed: int, count: int) -> list[Any]:
    rng = random.Random(seed)
    records = []
    for i in range(count):
        cve = {"id": f"CVE-2099-{seed * 10_000 + i}", "published": "2024-01-01T00:00:00",
               "lastModified": "2024-01-02T00:00:00", "descriptions": [{"lang": "en", "value": "x"}],
               "metrics": {"cvssMetricV31": [{"type": "Primary", "cvssData": {
                   "vectorString": rng.choice(["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                                               "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"])}}]},
               "configurations": [_configuration(rng) for _ in range(rng.randrange(1, 3))]}
        if rng.random() < 0.1:
            cve["cisaExploitAdd"], cve["cisaActionDue"] = "2024-02-01", "2024-02-22"
        records.append(record_from_nvd(cve))
    return records


def targets() -> list[Target]:
    out = []
    for product in ["openssh", "http_server", "proftpd", "jenkins", "redis", "fortios"]:
        for version in VERSIONS + ["OpenSSH_8.5p1 Debian-2+deb12u3"]:
            for vendor in (None, "apache", "redis"):
                t = Target.from_service(vendor=vendor, product=product, version=version)
                if t is not None:
                    out.append(t)
    out.append(Target.from_service(vendor=None, product=None, version=None,
                                   cpe="cpe:2.3:o:fortinet:fortios:7.0.11:*:*:*:*:*:*:*"))  # type: ignore[arg-type]
    return out


async def test_index_answers_exactly_as_sql_on_random_configurations(db: Database) -> None:
    seed = random.randrange(1, 9_000)  # fresh ids each run (CVE numbers stay under 10^8); printed on failure
    records = random_records(seed, 400)
    ours = {r.cve_id for r in records}
    async with db.session() as session:
        await CveStore(session).upsert_records(records, source="nvd")
        await session.commit()
    index = await build_index(db.engine)
    compared = matched = 0
    async with db.session() as session:
        for target in targets():
            by_sql = [(m.cve_id, m.confidence) for m in await match_target_sql(session, target) if m.cve_id in ours]
            by_index = [(m.cve_id, m.confidence) for m in index.match(target) if m.cve_id in ours]
            assert by_index == by_sql, f"seed {seed}, target {target}"
            compared += 1
            matched += len(by_index)
    assert compared > 100 and matched > 200  # the data really exercises the matcher


def test_configuration_shapes_are_classified_by_what_a_hit_means() -> None:
    vuln = {"operator": "OR", "cpeMatch": [{"vulnerable": True, "criteria": "cpe:2.3:a:citrix:adc:*:*:*:*:*:*:*:*"}]}
    hw = {"operator": "OR", "cpeMatch": [{"vulnerable": False, "criteria": "cpe:2.3:h:citrix:adc_hw:-:*:*:*:*:*:*:*"}]}
    same = {"operator": "OR", "cpeMatch": [{"vulnerable": False, "criteria": "cpe:2.3:a:citrix:adc:-:*:*:*:*:*:*:*"}]}
    assert classify_raw_configurations([{"operator": "AND", "nodes": [vuln, hw]}]) == POTENTIAL
    # A platform criterion about the product itself could be true for what we see: evaluate in full.
    assert classify_raw_configurations([{"operator": "AND", "nodes": [vuln, same]}]) == EVALUATE
    assert classify_raw_configurations([{"operator": "AND", "negate": True, "nodes": [vuln, hw]}]) == EVALUATE
    assert classify_raw_configurations([{"operator": "AND", "nodes": [vuln, vuln]}]) == EVALUATE


async def test_a_commit_that_changes_cve_data_is_seen_by_the_next_lookup(db: Database) -> None:
    await warm_index(db.engine)
    async with db.session() as session:
        assert await cached_index(session) is not None  # the built index serves lookups
    cve_id = f"CVE-2098-{random.randrange(10**6)}"
    record = record_from_nvd({
        "id": cve_id, "published": "2024-01-01T00:00:00", "lastModified": "2024-01-02T00:00:00",
        "descriptions": [{"lang": "en", "value": "x"}],
        "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [
            {"vulnerable": True, "criteria": "cpe:2.3:a:acme:rocket_launcher:*:*:*:*:*:*:*:*",
             "versionEndExcluding": "3.0"}]}]}]})
    async with db.session() as session:
        await CveStore(session).upsert_records([record], source="nvd")
        await session.commit()
    async with db.session() as session:
        found = await match_service(session, vendor="acme", product="rocket_launcher", version="2.9")
        assert [m.cve_id for m in found] == [cve_id]
        assert await cached_index(session) is None  # stale: answered through SQL until rebuilt
    rebuilt = await warm_index(db.engine)
    assert rebuilt is not None
    async with db.session() as session:
        assert await cached_index(session) is rebuilt
        found = await match_service(session, vendor="acme", product="rocket_launcher", version="2.9")
        assert [m.cve_id for m in found] == [cve_id]


async def test_the_index_can_be_turned_off(db: Database) -> None:
    set_enabled(db.engine, False)
    async with db.session() as session:
        assert await cached_index(session) is None
        found = await match_service(session, vendor="apache", product="http_server", version="2.4.49")
    assert "CVE-2021-41773" in {m.cve_id for m in found}
