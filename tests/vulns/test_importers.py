"""Importer round trips on real-format files, idempotency, replacement rules and hostile input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cybervault.kit.db import Database
from cybervault.vulns.importer import import_file
from cybervault.vulns.models import Cve, CveCpeMatch, EpssScore, KevEntry
from cybervault.vulns.service import match_service

DATA = Path(__file__).parent / "data"


def nvd_feed(*cves: dict[str, Any]) -> dict[str, Any]:
    return {"resultsPerPage": len(cves), "startIndex": 0, "totalResults": len(cves), "format": "NVD_CVE",
            "version": "2.0", "timestamp": "2099-01-01T00:00:00.000", "vulnerabilities": [{"cve": c} for c in cves]}


def cve(cve_id: str, *, modified: str = "2099-05-01T00:00:00.000", desc: str = "Flaw in gizmod.",
        product: str = "gizmod", end: str = "3.0") -> dict[str, Any]:
    return {
        "id": cve_id, "published": "2099-04-01T00:00:00.000", "lastModified": modified, "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": desc}],
        "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "baseScore": 7.5}}]},
        "weaknesses": [{"description": [{"lang": "en", "value": "CWE-20"}]}],
        "configurations": [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": True, "criteria": f"cpe:2.3:a:acme:{product}:*:*:*:*:*:*:*:*",
             "versionEndExcluding": end}]}]}],
        "references": [{"url": f"https://acme.example/{cve_id}"}],
    }


async def count(db: Database, model: Any, **where: Any) -> int:
    async with db.session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return int(await s.scalar(stmt) or 0)


async def test_nvd_api_page_round_trip_and_reimport_changes_nothing(db: Database) -> None:
    report = await import_file(db, DATA / "nvd_api_page.json")
    assert report.format == "nvd"
    assert (report.counts.inserted + report.counts.updated + report.counts.unchanged) == 2
    assert [(f.record_id, "descriptions" in f.reason or "must" in f.reason) for f in report.failures] == [
        ("CVE-2099-1003", True)]
    async with db.session() as s:
        row = await s.get(Cve, "CVE-2099-1001")
        assert row is not None and row.cvss_score == 9.8 and row.severity == "critical"
        assert row.cwes == ["CWE-787"]
        kev = await s.get(KevEntry, "CVE-2099-1001")
        assert kev is not None and str(kev.date_added) == "2099-02-01"
        v4 = await s.get(Cve, "CVE-2099-1002")
        assert v4 is not None and v4.cvss_v40_score == 9.3 and v4.cvss_v31_vector is None
        # The half-valid record left nothing behind.
        assert await s.get(Cve, "CVE-2099-1003") is None
    assert await count(db, CveCpeMatch, cve_id="CVE-2099-1003") == 0
    again = await import_file(db, DATA / "nvd_api_page.json")
    assert again.counts.inserted == 0 and again.counts.updated == 0 and again.counts.unchanged == 2
    assert await count(db, CveCpeMatch, cve_id="CVE-2099-1001") == 2


async def test_imported_records_are_matched_with_nvd_semantics(db: Database) -> None:
    await import_file(db, DATA / "nvd_api_page.json")
    async with db.session() as s:
        hits = await match_service(s, vendor="acme", product="widgetd", version="2.4.9")
        assert [(m.cve_id, m.confidence, m.kev) for m in hits] == [("CVE-2099-1001", "confirmed", True)]
        assert await match_service(s, vendor="acme", product="widgetd", version="2.4.10") == []
        assert [m.cve_id for m in await match_service(s, vendor="acme", product="widgetd", version="1.9.9p3")] == [
            "CVE-2099-1001"]
        firmware = await match_service(s, vendor=None, product=None, version=None,
                                       cpe="cpe:2.3:o:acme:widgetd_firmware:5.0:*:*:*:*:*:*:*")
        assert [(m.cve_id, m.confidence) for m in firmware] == [("CVE-2099-1002", "potential")]


async def test_gzip_feed_newer_record_replaces_older_and_older_is_ignored(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "nvdcve-2.0-2099.json.gz"
    path.write_bytes(gzip.compress(json.dumps(nvd_feed(cve("CVE-2099-3001"), cve("CVE-2099-3002"))).encode()))
    first = await import_file(db, path)
    assert first.ok and first.counts.inserted == 2
    newer = tmp_path / "modified.json.gz"
    newer.write_bytes(gzip.compress(json.dumps(nvd_feed(
        cve("CVE-2099-3001", modified="2099-06-01T00:00:00.000", desc="Updated analysis.", end="3.5"),
        cve("CVE-2099-3002", modified="2099-01-01T00:00:00.000", desc="Stale copy."),
    )).encode()))
    second = await import_file(db, newer)
    assert (second.counts.updated, second.counts.unchanged) == (1, 1)
    async with db.session() as s:
        assert (await s.get(Cve, "CVE-2099-3001")).description == "Updated analysis."  # type: ignore[union-attr]
        assert (await s.get(Cve, "CVE-2099-3002")).description == "Flaw in gizmod."  # type: ignore[union-attr]
        assert [m.cve_id for m in await match_service(s, vendor="acme", product="gizmod", version="3.2")] == [
            "CVE-2099-3001"]
    assert await count(db, CveCpeMatch, cve_id="CVE-2099-3001") == 1


async def test_import_replaces_shipped_row_but_shipped_data_never_overwrites_imports(db: Database,
                                                                                       tmp_path: Path) -> None:
    from cybervault.vulns.service import load_shipped_dataset

    path = tmp_path / "vsftpd.json"
    rec = cve("CVE-2015-1419", modified="2015-02-01T00:00:00.000", desc="Imported NVD text.", product="vsftpd")
    rec["configurations"][0]["nodes"][0]["cpeMatch"][0]["criteria"] = "cpe:2.3:a:vsftpd_project:vsftpd:*:*:*:*:*:*:*:*"
    rec["configurations"][0]["nodes"][0]["cpeMatch"][0]["versionEndIncluding"] = "3.0.2"
    del rec["configurations"][0]["nodes"][0]["cpeMatch"][0]["versionEndExcluding"]
    path.write_text(json.dumps(nvd_feed(rec)))
    report = await import_file(db, path)
    assert report.counts.updated == 1
    async with db.session() as s:
        from cybervault.vulns.models import VulnDatasetState

        state = await s.get(VulnDatasetState, "shipped")
        assert state is not None and state.records >= 150
        state.digest = "force-reload"
        await s.commit()
    async with db.session() as s:
        await load_shipped_dataset(s)
        await s.commit()
    async with db.session() as s:
        row = await s.get(Cve, "CVE-2015-1419")
        assert row is not None and row.source == "nvd" and row.description == "Imported NVD text."
        assert await load_shipped_dataset(s) == 0  # unchanged dataset: quick no-op


async def test_cve5_record(db: Database) -> None:
    report = await import_file(db, DATA / "cve5_record.json")
    assert report.format == "cve5" and report.ok
    async with db.session() as s:
        row = await s.get(Cve, "CVE-2099-2001")
        assert row is not None and row.cvss_score == 7.5 and row.cwes == ["CWE-22"]
        hits = {v: [m.cve_id for m in await match_service(s, vendor="Acme", product="Gadgetd", version=v)]
                for v in ("3.2.0", "3.2.1", "4.0", "2.9")}
    assert hits == {"3.2.0": ["CVE-2099-2001"], "3.2.1": [], "4.0": ["CVE-2099-2001"], "2.9": []}


async def test_kev_catalog_and_epss(db: Database, tmp_path: Path) -> None:
    await import_file(db, DATA / "nvd_api_page.json")
    kev = await import_file(db, DATA / "kev_catalog.json")
    assert kev.format == "kev"
    assert [f.record_id for f in kev.failures] == ["not-a-cve"]
    async with db.session() as s:
        entry = await s.get(KevEntry, "CVE-2099-2001")
        assert entry is not None and entry.ransomware == "Known" and str(entry.due_date) == "2099-03-26"
        assert (await s.get(KevEntry, "CVE-2099-1001")).source == "catalog"  # type: ignore[union-attr]
    gz = tmp_path / "epss_scores-2099-03-06.csv.gz"
    gz.write_bytes(gzip.compress((DATA / "epss_scores.csv").read_bytes()))
    epss = await import_file(db, gz)
    assert epss.format == "epss"
    assert sorted(f.record_id for f in epss.failures) == ["CVE-2099-1002", "CVE-2099-9999"]
    async with db.session() as s:
        score = await s.get(EpssScore, "CVE-2099-1001")
        assert score is not None and score.score == pytest.approx(0.97123) and str(score.score_date) == "2099-03-06"
        hits = await match_service(s, vendor="acme", product="widgetd", version="2.4.9")
        assert hits[0].epss == pytest.approx(0.97123)
    again = await import_file(db, gz)
    assert again.counts.unchanged == 2 and again.counts.inserted == 0


async def test_truncated_gzip_keeps_good_records_and_names_the_file(db: Database, tmp_path: Path) -> None:
    feed = nvd_feed(*(cve(f"CVE-2099-4{i:04d}", desc=f"Flaw number {i} in gizmod.") for i in range(3000)))
    blob = gzip.compress(json.dumps(feed).encode())
    path = tmp_path / "truncated.json.gz"
    path.write_bytes(blob[: len(blob) * 3 // 4])
    report = await import_file(db, path, batch_size=500)
    assert report.file_error is not None and "truncated or malformed" in report.file_error
    async with db.session() as s:
        ids = (await s.scalars(select(Cve.cve_id).where(Cve.cve_id.like("CVE-2099-4%")))).all()
        # Every stored record is complete: its CPE row came with it.
        stmt = select(func.count()).select_from(CveCpeMatch).where(CveCpeMatch.cve_id.like("CVE-2099-4%"))
        assert await s.scalar(stmt) == len(ids)
    assert 0 < len(ids) < 3000
    assert len(ids) == report.counts.inserted + report.counts.updated + report.counts.unchanged


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x1f\x8b\x08\x00garbage", "cannot read"),
        (b"<html>not data</html>", "not JSON"),
        (b'{"CVE_Items": []}', "1.1"),
        (b'{"vulnerabilities": "nope"}', "no records"),
        (b'{"something": "else"}', "unrecognised"),
    ],
)
async def test_hostile_files_are_rejected_cleanly(db: Database, tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    report = await import_file(db, path)
    assert report.file_error is not None and reason in report.file_error


async def test_wrong_types_are_record_errors(db: Database, tmp_path: Path) -> None:
    bad = [
        {"id": 12345},
        {**cve("CVE-2099-5001"), "published": ["2099"]},
        {**cve("CVE-2099-5002"), "configurations": [{"nodes": [{"operator": "XOR", "cpeMatch": []}]}]},
        {**cve("CVE-2099-5003"), "metrics": {"cvssMetricV31": [{"cvssData": {"vectorString": "CVSS:3.1/AV:Q"}}]}},
        {**cve("CVE-2099-5004"), "configurations": [{"nodes": [{"cpeMatch": [{"criteria": "cpe:2.3:a:x"}]}]}]},
        cve("CVE-2099-5005"),
    ]
    path = tmp_path / "types.json"
    path.write_text(json.dumps(nvd_feed(*bad)))
    report = await import_file(db, path)
    assert report.counts.inserted + report.counts.updated + report.counts.unchanged == 1
    assert [f.record_id for f in report.failures] == ["#0", "CVE-2099-5001", "CVE-2099-5002", "CVE-2099-5003",
                                                      "CVE-2099-5004"]
    assert all(f.file == str(path) and f.reason for f in report.failures)


async def test_long_but_legal_strings_are_record_errors(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps(nvd_feed(cve("CVE-2099-7001", desc="x" * 50_000), cve("CVE-2099-7002"))))
    report = await import_file(db, path)
    assert [(f.record_id, "longer than" in f.reason) for f in report.failures] == [("CVE-2099-7001", True)]
    assert report.counts.inserted + report.counts.updated + report.counts.unchanged == 1


async def test_hundred_megabyte_strings_are_rejected(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("w") as fh:
        head = json.dumps(nvd_feed(cve("CVE-2099-6001")))[:-2]  # reopen the list
        fh.write(head)
        fh.write(',{"cve": {"id": "CVE-2099-6002", "descriptions": [{"lang": "en", "value": "')
        chunk = "A" * (1 << 20)
        for _ in range(100):
            fh.write(chunk)
        fh.write('"}]}}, ')
        fh.write(json.dumps({"cve": cve("CVE-2099-6003")}))
        fh.write("]}")
    report = await import_file(db, path)
    # The file is refused at the monster string; the record before it is in, nothing after it.
    assert report.file_error is not None and "longer than" in report.file_error
    assert "after record CVE-2099-6001" in report.file_error
    async with db.session() as s:
        assert await s.get(Cve, "CVE-2099-6001") is not None
        assert await s.get(Cve, "CVE-2099-6002") is None
    epss = tmp_path / "huge.csv"
    with epss.open("w") as fh:
        fh.write("#model_version:v1,score_date:2099-01-01T00:00:00+0000\ncve,epss,percentile\n")
        fh.write("CVE-2099-6001," + "9" * (20 << 20) + ",0.5\nCVE-2099-6003,0.5,0.5\n")
    report = await import_file(db, epss)
    assert [f.reason for f in report.failures] == ["line longer than 4096 bytes"]
    assert report.counts.inserted + report.counts.updated + report.counts.unchanged == 1


def test_cli_import_reports_and_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cybervault.cli.cve import app

    db_path = tmp_path / "cli.db"
    monkeypatch.setenv("CYBERVAULT_DATABASE_URL", f"sqlite+aiosqlite:///{db_path}")
    from cybervault.config import get_settings

    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    import asyncio

    from cybervault.kit.migrate import upgrade_database

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{db_path}")
        await upgrade_database(db)
        await db.dispose()

    asyncio.run(migrate())
    good = tmp_path / "cve5.json"
    shutil.copy(DATA / "cve5_record.json", good)
    runner = CliRunner()
    ok = runner.invoke(app, ["import", "--quiet", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "1 new" in ok.output
    bad = runner.invoke(app, ["import", "--quiet", str(DATA / "kev_catalog.json"), str(tmp_path / "missing.json")])
    assert bad.exit_code == 1
    assert "not-a-cve" in bad.output and "no such file" in bad.output
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()


@pytest.mark.parametrize("pipelined", [False, True])
async def test_worker_process_import_reports_like_in_process(db: Database, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, pipelined: bool) -> None:
    """Big files are parsed in a worker process; the report and the stored rows must not depend on that."""
    from cybervault.vulns import importer

    monkeypatch.setattr(importer, "PIPELINE_MIN_BYTES", 0 if pipelined else 1 << 40)
    year = 2097 if pipelined else 2096  # the database outlives one test: keep the two runs apart
    good = [cve(f"CVE-{year}-8{i:04d}", desc=f"Flaw number {i} in gizmod.") for i in range(1200)]
    bad = [{"id": 12345}, {**cve(f"CVE-{year}-9001"), "published": ["2099"]}]
    blob = gzip.compress(json.dumps(nvd_feed(*bad, *good)).encode())
    path = tmp_path / "feed.json.gz"
    path.write_bytes(blob[: len(blob) * 3 // 4])  # truncated: the good records before the break still import
    report = await import_file(db, path, batch_size=300)
    assert report.file_error is not None and "truncated or malformed" in report.file_error
    assert f"after record CVE-{year}-8" in report.file_error
    assert [f.record_id for f in report.failures] == ["#0", f"CVE-{year}-9001"]
    assert report.records == report.counts.inserted + 2 and report.counts.inserted > 300
    async with db.session() as s:
        stored = await s.scalar(select(func.count()).select_from(Cve).where(Cve.cve_id.like(f"CVE-{year}-%")))
    assert stored == report.counts.inserted
    assert await count(db, CveCpeMatch, cve_id=f"CVE-{year}-80000") == 1
    again = await import_file(db, path, batch_size=300)
    assert again.counts.inserted == 0 and again.counts.unchanged == report.counts.inserted
    async with db.session() as s:
        found = [m.cve_id for m in await match_service(s, vendor="acme", product="gizmod", version="2.9")]
    assert f"CVE-{year}-80000" in found
