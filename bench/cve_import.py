"""CVE import and match benchmark.

Generates an NVD CVE JSON 2.0 feed (gzip) of N CVEs shaped like NVD's: 4,000 products with Zipf-like
popularity (the busiest ~1% of CVEs), 1-3 configurations per CVE, criteria that are 70% per-branch ranges
(>= X.Y.0 < X.Y.Z), 15% exact versions with update fields, 15% open "before X.Y.Z" ranges, and 12%
AND/platform configurations. It imports the feed with the same
code as `cybervault cve import` into SQLite and into PostgreSQL (a temporary database on 127.0.0.1:5432,
dropped afterwards), builds the in-memory match index as a server does at start, then times
product/version matches against the loaded database (each lookup also checks that the index is current).

    .venv/bin/python bench/cve_import.py [--records 250000] [--backends sqlite,postgres] [--matches 2000]

Files this big go through the import pipeline (`vulns/pipeline.py`: a splitter process, one parser process
per core, this process writing); the largest child's peak RSS is reported separately and the summary takes
the larger of the two.

Targets: >= 5,000 records/s, peak RSS < 500 MB, match p99 < 5 ms. Last line: cve_match_p99_ms=<x>.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from cybervault.kit.db import Database  # noqa: E402
from cybervault.kit.migrate import upgrade_database  # noqa: E402
from cybervault.vulns.importer import import_file  # noqa: E402
from cybervault.vulns.match_cache import warm_index  # noqa: E402
from cybervault.vulns.service import match_service  # noqa: E402

PG_ADMIN = os.environ.get("CYBERVAULT_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")

VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", "CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
]
CWES = ["CWE-79", "CWE-787", "CWE-89", "CWE-20", "CWE-125", "CWE-78", "CWE-416", "CWE-22", "CWE-352",
        "CWE-434", "CWE-476", "CWE-190", "CWE-502", "CWE-287", "CWE-400", "NVD-CWE-noinfo"]
WORDS = ("buffer overflow allows remote attackers to execute arbitrary code via crafted request header "
         "improper validation of input in the parser leads to denial of service memory corruption when "
         "processing authentication tokens allows privilege escalation information disclosure").split()


def make_products(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    real = [("a", "openbsd", "openssh"), ("a", "apache", "http_server"), ("a", "f5", "nginx"),
            ("a", "apache", "tomcat"), ("a", "apache", "struts"), ("a", "eclipse", "jetty"),
            ("a", "exim", "exim"), ("a", "samba", "samba"), ("a", "redis", "redis"),
            ("a", "postgresql", "postgresql"), ("a", "oracle", "mysql"), ("a", "openssl", "openssl"),
            ("o", "fortinet", "fortios"), ("a", "jenkins", "jenkins")]
    out = list(real)
    while len(out) < count:
        out.append((rng.choice("aaaao"), f"vendor{rng.randrange(count // 3)}", f"product{len(out)}"))
    return out


def version(rng: random.Random) -> str:
    return f"{rng.randrange(1, 15)}.{rng.randrange(0, 20)}.{rng.randrange(0, 60)}"


def criterion(rng: random.Random, product: tuple[str, str, str], vulnerable: bool = True) -> dict[str, Any]:
    """One cpeMatch entry shaped like NVD's: mostly per-branch ranges, some exact versions, a few open ends."""
    part, vendor, name = product
    base = f"cpe:2.3:{part}:{vendor}:{name}"
    major, minor = rng.randrange(1, 15), rng.randrange(0, 20)
    roll = rng.random()
    if roll < 0.15:
        upd = rng.choice(("*", "*", "-", "p1", "rc1"))
        return {"vulnerable": vulnerable,
                "criteria": f"{base}:{major}.{minor}.{rng.randrange(0, 60)}:{upd}:*:*:*:*:*:*"}
    crit: dict[str, Any] = {"vulnerable": vulnerable, "criteria": f"{base}:*:*:*:*:*:*:*:*"}
    fix = rng.randrange(1, 60)
    if roll < 0.85:
        # A fix within one release branch: >= X.Y.0 < X.Y.fix (NVD's most common shape).
        crit["versionStartIncluding"] = f"{major}.{minor}.0"
        key = rng.choice(("versionEndExcluding", "versionEndExcluding", "versionEndIncluding"))
        crit[key] = f"{major}.{minor}.{fix}"
    else:
        # Everything before a fixed release.
        key = rng.choice(("versionEndExcluding", "versionEndIncluding"))
        crit[key] = f"{major}.{minor}.{fix}"
    crit["matchCriteriaId"] = f"{rng.getrandbits(32):08X}-0000-4000-8000-{rng.getrandbits(48):012X}"
    return crit


def pick_product(rng: random.Random, products: list[tuple[str, str, str]],
                 cum_weights: list[float]) -> tuple[str, str, str]:
    # Zipf-like popularity, flattened at the top: the most common product carries about 1% of the CVEs,
    # roughly NVD's share for its busiest products.
    return rng.choices(products, cum_weights=cum_weights, k=1)[0]


def product_weights(products: list[tuple[str, str, str]]) -> list[float]:
    total, out = 0.0, []
    for rank in range(len(products)):
        total += 1.0 / (rank + 20)
        out.append(total)
    return out


def make_cve(rng: random.Random, index: int, products: list[tuple[str, str, str]],
             cum_weights: list[float]) -> dict[str, Any]:
    year = 2000 + index % 25
    cve_id = f"CVE-{year}-{100000 + index}"
    configs = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        product = pick_product(rng, products, cum_weights)
        matches = [criterion(rng, product) for _ in range(rng.choice((1, 1, 2, 3, 4, 6)))]
        if rng.random() < 0.12:
            platform = rng.choice(products)
            configs.append({"operator": "AND", "nodes": [
                {"operator": "OR", "negate": False, "cpeMatch": matches},
                {"operator": "OR", "negate": False, "cpeMatch": [
                    {"vulnerable": False, "criteria": f"cpe:2.3:h:{platform[1]}:{platform[2]}_hw:-:*:*:*:*:*:*:*"}]},
            ]})
        else:
            configs.append({"nodes": [{"operator": "OR", "negate": False, "cpeMatch": matches}]})
    vector = rng.choice(VECTORS)
    cve = {
        "id": cve_id, "sourceIdentifier": "cve@mitre.org",
        "published": f"{year}-0{1 + index % 9}-1{index % 9}T10:15:0{index % 10}.123",
        "lastModified": f"{year + 1}-0{1 + index % 9}-1{index % 9}T10:15:0{index % 10}.123",
        "vulnStatus": "Analyzed", "cveTags": [],
        "descriptions": [{"lang": "en", "value": " ".join(rng.choices(WORDS, k=rng.randrange(20, 60)))}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
                                       "cvssData": {"version": "3.1", "vectorString": vector}}]},
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary",
                        "description": [{"lang": "en", "value": rng.choice(CWES)}]}],
        "configurations": configs,
        "references": [{"url": f"https://example.org/advisory/{cve_id}/{i}", "source": "cve@mitre.org"}
                       for i in range(rng.randrange(2, 8))],
    }
    if rng.random() < 0.005:
        cve["cisaExploitAdd"], cve["cisaActionDue"] = "2023-01-10", "2023-01-31"
    return cve


def generate(path: Path, count: int, seed: int = 7) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    products = make_products(rng, 4000)
    weights = product_weights(products)
    with gzip.open(path, "wt", compresslevel=1) as fh:
        fh.write(f'{{"resultsPerPage":{count},"startIndex":0,"totalResults":{count},"format":"NVD_CVE",'
                 '"version":"2.0","timestamp":"2026-11-28T00:00:00.000","vulnerabilities":[')
        for i in range(count):
            if i:
                fh.write(",")
            fh.write(json.dumps({"cve": make_cve(rng, i, products, weights)}, separators=(",", ":")))
        fh.write("]}")
    return products


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker_peak_rss_mb() -> float:
    """The largest finished child process (a process of the import pipeline): it counts against the budget too."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def import_phase(name: str, url: str, feed: Path, reimport: bool = True) -> dict[str, float]:
    db = Database(url, pool_size=2)
    try:
        await upgrade_database(db)
        started = time.perf_counter()
        report = await import_file(db, feed, batch_size=2000)
        elapsed = time.perf_counter() - started
        if report.file_error or report.failures:
            print(f"  import problems: {report.file_error} {report.failures[:3]}")
        total = report.counts.inserted + report.counts.updated + report.counts.unchanged
        rate = total / elapsed
        print(f"[{name}] imported {total} records in {elapsed:.1f}s: {rate:,.0f} records/s, "
              f"peak RSS {peak_rss_mb():.0f} MB (largest pipeline process {worker_peak_rss_mb():.0f} MB), {load()}")
        import_rss = max(peak_rss_mb(), worker_peak_rss_mb())
        if not reimport:
            return {"rate": rate, "import_rss": import_rss}
        again = time.perf_counter()
        second = await import_file(db, feed, batch_size=2000)
        print(f"[{name}] re-import (idempotent): {second.counts.unchanged} unchanged, "
              f"{second.counts.inserted + second.counts.updated} written, {time.perf_counter() - again:.1f}s")
        return {"rate": rate, "import_rss": import_rss}
    finally:
        await db.dispose()


STALL = {"max": 0.0}


async def longest_stall() -> None:
    """How long the event loop was kept from other tasks (a server's requests) while the index built."""
    STALL["max"] = 0.0
    last = time.perf_counter()
    while True:
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        STALL["max"] = max(STALL["max"], now - last - 0.005)
        last = now


async def match_phase(name: str, url: str, products: list[tuple[str, str, str]], matches: int) -> float:
    """Build the in-memory match index as a server does at start (and after an import settles), then time
    lookups through match_service: each also checks that the index is current."""
    db = Database(url, pool_size=2)
    try:
        rss_before = current_rss_mb()
        built = time.perf_counter()
        ticker = asyncio.create_task(longest_stall())
        index = await warm_index(db.engine)
        ticker.cancel()
        assert index is not None, "the match index did not build"
        print(f"[{name}] match index: {len(index):,} CVEs, {index.criteria_count:,} criteria in "
              f"{time.perf_counter() - built:.1f}s, resident memory +{current_rss_mb() - rss_before:.0f} MB, "
              f"longest event-loop stall during the build {STALL['max'] * 1000:.0f} ms, {load()}")
        rng = random.Random(11)
        weights = product_weights(products)
        timings: list[float] = []
        hits = 0
        async with db.session() as session:
            for i in range(matches + 50):
                part, vendor, product = pick_product(rng, products, weights)
                t0 = time.perf_counter()
                found = await match_service(session, vendor=vendor, product=product, version=version(rng))
                dt = time.perf_counter() - t0
                if i >= 50:  # warm-up excluded
                    timings.append(dt * 1000)
                    hits += len(found)
        timings.sort()
        p50 = statistics.median(timings)
        p99 = timings[int(len(timings) * 0.99) - 1]
        print(f"[{name}] match over {len(timings)} queries: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
              f"max {timings[-1]:.2f} ms, {hits / len(timings):.1f} CVEs per query, {load()}")
        return p99
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--no-reimport", action="store_true", help="skip the idempotency re-import (saves minutes)")
    args = parser.parse_args()
    pg_name = f"cv_bench_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="cv-cve-bench-") as tmp:
        urls = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.db",
                "postgres": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"}
        backends = [b for b in args.backends.split(",") if b in urls]
        feed = Path(tmp) / "nvdcve-2.0-bench.json.gz"
        t0 = time.perf_counter()
        products = generate(feed, args.records)
        print(f"generated {args.records} CVEs ({feed.stat().st_size / 1e6:.1f} MB gzip) in "
              f"{time.perf_counter() - t0:.1f}s")
        if "postgres" in backends:
            await pg_admin(f'CREATE DATABASE "{pg_name}"')
        try:
            # Every import first, so that the import's peak RSS is not the match index's.
            results = {b: await import_phase(b, urls[b], feed, not args.no_reimport) for b in backends}
            for b in backends:
                results[b]["p99"] = await match_phase(b, urls[b], products, args.matches)
        finally:
            if "postgres" in backends:
                await pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    rss = max(r["import_rss"] for r in results.values())
    rate = min(r["rate"] for r in results.values())
    p99 = max(r["p99"] for r in results.values())
    print(f"cve_import_records_per_s={rate:.0f} peak_rss_mb={rss:.0f} (targets: >=5000, <500; RSS is the import's: the "
          f"larger of the main process and the pipeline processes; the match index is reported above), {load()}")
    print(f"cve_match_p99_ms={p99:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
