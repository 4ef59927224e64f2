"""The process pipeline for big files (splitter → parsers → writer) reports and stores exactly what the
in-process reader does, on the plain NVD shape and on every shape the splitter must hand to the careful
readers."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from cybervault.kit.db import Database
from cybervault.vulns import importer
from cybervault.vulns.fastjson import Unusual, nvd_item_pieces
from cybervault.vulns.importer import FileReport, import_file
from cybervault.vulns.models import Cve
from cybervault.vulns.pipeline import within_guards
from tests.vulns.test_importers import cve, nvd_feed


def _items(year: int, count: int = 40) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"cve": cve(f"CVE-{year}-1{i:04d}", desc=f"Flaw {i}.")} for i in range(count)]
    items[3] = {"cve": {**cve(f"CVE-{year}-13003"), "published": ["not a date"]}}  # a record error
    items[7] = {"cve": {"id": 12345}}  # an item without a usable id
    return items


def _compact(items: list[dict[str, Any]]) -> bytes:
    return json.dumps({**nvd_feed(), "vulnerabilities": items}).encode()


def _pretty_with_bom(items: list[dict[str, Any]]) -> bytes:
    return b"\xef\xbb\xbf" + json.dumps({**nvd_feed(), "vulnerabilities": items}, indent=2).encode()


def _nested_cve_object(items: list[dict[str, Any]]) -> bytes:
    items[10] = {"cve": {**items[10]["cve"], "x-vendor": {"cve": {"note": "nested, not an item"}}}}
    return _compact(items)


def _array_not_last(items: list[dict[str, Any]]) -> bytes:
    return json.dumps({**nvd_feed(), "vulnerabilities": items, "trailer": [1, {"cve": 2}]}).encode()


def _item_not_an_object(items: list[dict[str, Any]]) -> bytes:
    return _compact([*items[:5], 5, *items[5:]])  # type: ignore[list-item]


def _deeply_nested(items: list[dict[str, Any]]) -> bytes:
    items[12] = {"cve": {**items[12]["cve"], "x-deep": json.loads("[" * 200 + "]" * 200)}}
    return _compact(items)


def _many_criteria(items: list[dict[str, Any]]) -> bytes:
    matches = [{"vulnerable": True, "criteria": f"cpe:2.3:a:acme:gizmod:1.{i}:*:*:*:*:*:*:*"} for i in range(300)]
    items[12]["cve"]["configurations"] = [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": matches}]}]
    return _compact(items)


SHAPES: dict[str, Callable[[list[dict[str, Any]]], bytes]] = {
    "compact": _compact, "pretty-bom": _pretty_with_bom, "nested-cve": _nested_cve_object,
    "array-not-last": _array_not_last, "item-not-object": _item_not_an_object, "many-criteria": _many_criteria,
}  # a truncated file: test_importers.test_worker_process_import_reports_like_in_process


def _summary(report: FileReport) -> tuple[Any, ...]:
    error = report.file_error.split(":")[0] if report.file_error else None
    after = report.file_error.rsplit("(after record ", 1)[-1] if report.file_error else None
    return (report.records, [(f.record_id, f.reason) for f in report.failures], error, after,
            report.counts.inserted + report.counts.updated + report.counts.unchanged)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_pipeline_matches_the_in_process_reader(db: Database, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    year = 2080 + list(SHAPES).index(shape)  # the database outlives one test: keep the shapes apart
    path = tmp_path / "feed.json"
    path.write_bytes(SHAPES[shape](_items(year)))

    monkeypatch.setattr(importer, "PIPELINE_MIN_BYTES", 1 << 40)
    in_process = await import_file(db, path, batch_size=8)
    async with db.session() as s:
        stored = {c.cve_id: (c.description, c.last_modified) for c in
                  (await s.scalars(select(Cve).where(Cve.cve_id.like(f"CVE-{year}-%")))).all()}
        await s.execute(Cve.__table__.delete().where(Cve.cve_id.like(f"CVE-{year}-%")))
        await s.commit()

    monkeypatch.setattr(importer, "PIPELINE_MIN_BYTES", 0)
    pipelined = await import_file(db, path, batch_size=8, parsers=2)
    assert _summary(pipelined) == _summary(in_process)
    assert pipelined.counts.inserted == len(stored) > 0
    async with db.session() as s:
        again = {c.cve_id: (c.description, c.last_modified) for c in
                 (await s.scalars(select(Cve).where(Cve.cve_id.like(f"CVE-{year}-%")))).all()}
        assert await s.scalar(select(func.count()).select_from(Cve).where(Cve.cve_id.like(f"CVE-{year}-%"))) \
            == len(stored)
    assert again == stored
    ids = [f.record_id for f in pipelined.failures]
    assert ids[0] == f"CVE-{year}-13003" and ids[-1] == ("#8" if shape == "item-not-object" else "#7")


async def test_an_item_a_guard_refuses_stops_the_import_there(db: Database, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Nesting over 128 levels is refused by the careful reader's guard; the fast path hands such an item
    to it, so a big file is refused as a small one is (the records before it are in)."""
    path = tmp_path / "deep.json"
    path.write_bytes(_deeply_nested(_items(2088)))
    monkeypatch.setattr(importer, "PIPELINE_MIN_BYTES", 0)
    report = await import_file(db, path, batch_size=8, parsers=2)
    assert report.file_error is not None and "nested more than 128 levels" in report.file_error
    assert report.file_error.endswith("(after record CVE-2088-10011)")
    assert report.counts.inserted == 10  # items 0-11 but for the two bad ones; nothing after the deep one


def test_only_items_a_guard_refuses_leave_the_fast_path() -> None:
    year = 2092
    many = _pieces(_many_criteria(_items(year)))[12]
    assert many.count(b"{") > 300
    within_guards(many)  # hundreds of criteria are ordinary NVD data: no fallback
    with pytest.raises(Unusual):
        within_guards(_pieces(_deeply_nested(_items(year)))[12])
    with pytest.raises(Unusual):
        within_guards(orjson.dumps({"cve": {"id": "CVE-2092-1", "x": "A" * (2 << 20)}}))


def _pieces(blob: bytes) -> list[bytes]:
    return list(nvd_item_pieces(io.BytesIO(blob)))


def test_pieces_are_the_items_of_a_pretty_printed_feed() -> None:
    items = _items(2090)
    pieces = _pieces(_pretty_with_bom(items))
    assert [orjson.loads(p) for p in pieces] == items


@pytest.mark.parametrize("nested", ['{"cve": {"note": "nested, not an item"}}', '[1, {"cve": 2}]'])
def test_a_nested_cve_object_is_never_taken_for_an_item(nested: str) -> None:
    """The splitter cuts at every `{"cve":`; a cut inside an item must be refused, by the splitter or by
    the decode of the piece before it: either sends the importer to the careful reader."""
    blob = _compact(_items(2091)).replace(b'"descriptions"', b'"x-vendor": %s, "descriptions"' % nested.encode(), 1)
    with pytest.raises((Unusual, orjson.JSONDecodeError)):
        for piece in _pieces(blob):
            orjson.loads(piece)


@pytest.mark.parametrize("blob", [
    b'{"vulnerabilities": [{"cve": {"a": {"cve": 1}}}]}', b'{"vulnerabilities": [{"cve": {"a": [{"cve": 1}]}}]}',
    b'{"a": 1 "vulnerabilities": []}', b'{, "vulnerabilities": []}', b'{"vulnerabilities": [], "b": 2}',
    b'{"vulnerabilities": [{"x": 1}]}', b'{"vulnerabilities": [{"cve": {}}] , "b": 2}', b'[]',
])
def test_shapes_the_splitter_leaves_to_the_careful_reader(blob: bytes) -> None:
    with pytest.raises(Unusual):
        for piece in _pieces(blob):
            orjson.loads(piece)
