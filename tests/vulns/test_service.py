"""The database matcher and the in-memory index give the same answers for the shipped data."""

from __future__ import annotations

import pytest

from cybervault.kit.db import Database
from cybervault.vulns.dataset import shipped_index
from cybervault.vulns.service import load_shipped_dataset, match_service
from tests.vulns.test_dataset_golden import GOLDEN

QUERIES = sorted({(p, v) for p, vuln, fixed, _ in GOLDEN for v in (vuln, fixed)}) + [
    ("OpenSSH", "OpenSSH_9.2p1 Debian-2+deb12u3"),
    ("Apache httpd", "2.4.41 (Ubuntu)"),
    ("nginx", "1.18.0"),
    ("OpenSSL", "1.0.2k-fips"),
]


@pytest.mark.parametrize(("product", "version"), QUERIES)
async def test_database_matches_equal_in_memory_matches(db: Database, product: str, version: str) -> None:
    index = shipped_index()
    shipped_ids = {r.cve_id for r in index._records.values()}
    expected = {(m.record.cve_id, m.confidence.value)
                for m in index.match_service(vendor=None, product=product, version=version)}
    async with db.session() as session:
        got = {(m.cve_id, m.confidence)
               for m in await match_service(session, vendor=None, product=product, version=version)}
    # Other tests may import extra records; compare on the shipped ones.
    assert {g for g in got if g[0] in shipped_ids} == expected


async def test_results_carry_scores_and_kev_first_within_a_score(db: Database) -> None:
    async with db.session() as session:
        rows = await match_service(session, vendor="apache", product="http_server", version="2.4.49")
    scores = [r.cvss_score or 0 for r in rows]
    assert scores == sorted(scores, reverse=True)
    by_score: dict[float, list[bool]] = {}
    for r in rows:
        by_score.setdefault(r.cvss_score or 0, []).append(r.kev)
    for flags in by_score.values():
        assert flags == sorted(flags, reverse=True)
    top = {r.cve_id: r for r in rows}
    assert top["CVE-2021-41773"].kev and top["CVE-2021-41773"].severity == "high"
    assert top["CVE-2021-42013"].cvss_score == 9.8 and top["CVE-2021-42013"].cvss_vector


async def test_loading_the_shipped_dataset_again_is_a_quick_no_op(db: Database) -> None:
    async with db.session() as session:
        assert await load_shipped_dataset(session) == 0
