"""API10 Unsafe Consumption of APIs: the CVE (NVD, CVE 5) and KEV importers consume third-party files.
Hostile ones - compression bombs, deep nesting, absurd numbers, control characters, wrong types,
markup in fields - are refused or reduced to per-record errors without crashing, without holding the
file in memory, and without storing anything that later breaks or leaks through the API."""

from __future__ import annotations

import gzip
import json
import resource
import time
from pathlib import Path
from typing import Any

import pytest

from cybervault.kit.db import Database
from cybervault.vulns.importer import import_file
from tests.helpers import OrgKeys

KEV_HEAD = '{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2099.01.01", ' \
           '"count": 1, "vulnerabilities": ['


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _kev_entry(cve_id: str, **extra: Any) -> dict[str, Any]:
    return {"cveID": cve_id, "vendorProject": "Acme", "product": "gizmod", "vulnerabilityName": "Acme flaw",
            "dateAdded": "2099-01-02", "dueDate": "2099-01-23", "requiredAction": "Patch.",
            "knownRansomwareCampaignUse": "Unknown", "notes": "", **extra}


async def test_gzip_bomb_is_streamed_not_inflated_in_memory(db: Database, tmp_path: Path) -> None:
    """~300 MiB of whitespace behind a ~300 KiB gzip: a reader that inflates the file first dies here."""
    path = tmp_path / "bomb.json.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(KEV_HEAD.encode())
        block = b" " * (1 << 20)
        for _ in range(300):
            fh.write(block)
        fh.write(json.dumps(_kev_entry("CVE-2099-9101")).encode() + b"]}")
    assert path.stat().st_size < 2 << 20
    before = _maxrss_mib()
    started = time.monotonic()
    report = await import_file(db, path)
    assert time.monotonic() - started < 90
    assert _maxrss_mib() - before < 150, "the importer held the inflated file in memory"
    # Either outcome is safe: the entry imported, or the file refused with a reason.
    assert (report.file_error is None and report.records == 1) or "rejected" in (report.file_error or ""), report


@pytest.mark.parametrize("depth", [100, 1_000])
async def test_deeply_nested_record_does_not_crash(db: Database, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "nested.json"
    nested = "[" * depth + "]" * depth
    path.write_text(KEV_HEAD + json.dumps(_kev_entry("CVE-2099-9102"))[:-1] + f', "cwes": {nested}}}' +
                    ", " + json.dumps(_kev_entry("CVE-2099-9103")) + "]}")
    report = await import_file(db, path)  # must return a report, never raise RecursionError
    assert report.records >= 1 or report.file_error


@pytest.mark.parametrize(("entry", "reason"), [
    ({"cveID": 10 ** 40, "dateAdded": "2099-01-01"}, "cveID"),
    ({"cveID": "CVE-2099-9104", "dateAdded": "9999-99-99"}, "dateAdded"),
    ({"cveID": "CVE-2099-9105'; DROP TABLE cves;--", "dateAdded": "2099-01-01"}, "cveID"),
    ({"cveID": ["CVE-2099-9106"], "dateAdded": "2099-01-01"}, "cveID"),
    ({"cveID": "CVE-2099-9107", "dateAdded": {"$gt": ""}}, "dateAdded"),
    ("just a string", "object"),
])
async def test_hostile_kev_entries_are_record_errors(db: Database, tmp_path: Path, entry: Any, reason: str) -> None:
    path = tmp_path / "kev.json"
    path.write_text(KEV_HEAD + json.dumps(entry) + ", " + json.dumps(_kev_entry("CVE-2099-9108")) + "]}")
    report = await import_file(db, path)
    assert report.file_error is None, report.file_error
    assert len(report.failures) == 1 and reason in report.failures[0].reason, report.failures
    assert report.counts.inserted + report.counts.updated + report.counts.unchanged == 1


@pytest.mark.parametrize("content", [
    b'{"vulnerabilities": [' + b'{"cveID": "CVE-2099-9109", "dateAdded": "2099-01-01"}, ' * 3 + b'{"cveID": ',
    b"\x00" * 4096,
    b'{"vulnerabilities": [{"cveID": "CVE-2099-9110", "dateAdded": "2099-01-01", "notes": "' + b"\xff\xfe" * 100
    + b'"}]}',
    b"\xef\xbb\xbf" + KEV_HEAD.encode() + b"]}",
])
async def test_malformed_files_never_raise(db: Database, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    report = await import_file(db, path)
    assert report.file_error is not None or report.failures or report.records >= 0


async def test_markup_and_control_characters_come_back_inert(db: Database, tmp_path: Path, org: OrgKeys) -> None:
    """Stored text from a feed is returned as JSON data: escaped, never interpreted or truncating the body."""
    nasty = "<script>alert(1)</script>\u0000\u202e\r\nSet-Cookie: x=1"
    path = tmp_path / "kev.json"
    path.write_text(KEV_HEAD + json.dumps(_kev_entry("CVE-2099-9111", vulnerabilityName=nasty,
                                                     notes="javascript:alert(1)")) + "]}")
    report = await import_file(db, path)
    assert report.file_error is None
    response = await org.live.get("/v1/cves/CVE-2099-9111")
    assert response.status_code in (200, 404)  # KEV without an NVD record may not be a CVE object
    assert response.headers["content-type"].startswith("application/json")
    assert "set-cookie" not in response.headers
    if response.status_code == 200:
        assert "<script>" not in response.text.replace("\\u003c", "<") or response.json()


async def test_nvd_record_with_absurd_numbers(db: Database, tmp_path: Path, org: OrgKeys) -> None:
    record = {"id": "CVE-2099-9112", "published": "2099-04-01T00:00:00.000", "lastModified": "2099-05-01T00:00:00.000",
              "descriptions": [{"lang": "en", "value": "flaw"}],
              "metrics": {"cvssMetricV31": [{"cvssData": {
                  "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 1e308}}]}}
    feed = {"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
            "timestamp": "2099-01-01T00:00:00.000", "vulnerabilities": [{"cve": record}]}
    path = tmp_path / "nvd.json"
    path.write_text(json.dumps(feed).replace("1e+308", "1" + "0" * 5000))
    report = await import_file(db, path)
    assert report.file_error is None or "malformed" in report.file_error or "longer" in report.file_error
    response = await org.live.get("/v1/cves/CVE-2099-9112")
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        score = response.json().get("cvss_score")
        assert score is None or 0 <= float(score) <= 10


# Regressions for what this module found: both used to take the whole importing process down.
async def test_regression_deep_nesting_is_refused_before_parsing(db: Database, tmp_path: Path) -> None:
    # 200k nested brackets (400 kB) made ijson's item builder allocate gigabytes (OOM kill).
    path = tmp_path / "deep.json"
    path.write_text(KEV_HEAD + json.dumps(_kev_entry("CVE-2099-9120")) + ', {"cwes": ' + "[" * 200_000 +
                    "]" * 200_000 + "}]}")
    report = await import_file(db, path)
    assert report.file_error is not None and "nested more than" in report.file_error


async def test_regression_huge_integer_is_refused_not_a_segfault(db: Database, tmp_path: Path) -> None:
    # A 5000-digit integer crashed ijson's C backend with SIGSEGV.
    path = tmp_path / "number.json"
    path.write_text(KEV_HEAD + json.dumps(_kev_entry("CVE-2099-9121")) + ', {"count": 1' + "0" * 5000 + "}]}")
    report = await import_file(db, path)
    assert report.file_error is not None and "number longer than" in report.file_error
