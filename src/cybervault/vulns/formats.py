"""Readers for the vulnerability data formats, streamed with bounded memory.

Each reader yields `Parsed(record_id, value)` for a good record or `Parsed(record_id, error=...)` for a bad
one, and raises `FileFormatError` when the file itself is unreadable (truncated gzip, broken JSON). Good
records read before such an error are still yielded, so they can be imported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from cybervault.vulns.cve5 import record_from_cve5
from cybervault.vulns.fastjson import nvd_items
from cybervault.vulns.guards import JsonTooComplex, StringTooLong, guarded
from cybervault.vulns.records import CVE_ID, RecordError, parse_day, record_from_nvd

__all__ = ["FileFormatError", "Parsed", "detect_format", "open_data", "read_records"]

NVD, CVE5, KEV, EPSS = "nvd", "cve5", "kev", "epss"
_SNIFF = 256 * 1024
_BOM = b"\xef\xbb\xbf"
_MAX_CSV_LINE = 4096


class FileFormatError(Exception):
    """The file cannot be read as any supported format, or broke part way through."""


@dataclass(frozen=True)
class Parsed:
    record_id: str
    value: Any = None
    error: str | None = None


class _CountingReader(io.RawIOBase):
    """Counts compressed bytes read so progress reflects the file on disk."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


@dataclass
class DataFile:
    path: Path
    stream: IO[bytes]
    counter: _CountingReader
    size: int

    @property
    def position(self) -> int:
        return self.counter.count

    def close(self) -> None:
        self.stream.close()
        self.counter.raw.close()


def open_data(path: Path) -> DataFile:
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    counter = _CountingReader(raw)
    buffered: IO[bytes] = io.BufferedReader(counter, buffer_size=256 * 1024)
    stream: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb") if magic == b"\x1f\x8b" else buffered
    with contextlib.suppress(*_READ_ERRORS):
        if stream.peek(3)[:3] == _BOM:  # type: ignore[attr-defined]
            stream.read(3)  # a UTF-8 byte order mark (editors on Windows write one) is not data
    return DataFile(path=path, stream=stream, counter=counter, size=path.stat().st_size)


_READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile, ijson.JSONError, UnicodeDecodeError, ValueError)


def detect_format(path: Path) -> str:
    """Guess the format from the first bytes of the (decompressed) content."""
    data = open_data(path)
    chunks: list[bytes] = []
    try:
        # Read in pieces so a truncated file still shows its beginning; the import reports the break.
        while sum(map(len, chunks)) < _SNIFF:
            chunk = data.stream.read(16384)
            if not chunk:
                break
            chunks.append(chunk)
    except _READ_ERRORS as exc:
        if not chunks:
            raise FileFormatError(f"cannot read file: {exc}") from exc
    finally:
        data.close()
    head = b"".join(chunks)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise FileFormatError("file is empty")
    lower = text[:200].lower()
    if lower.startswith("#model_version") or lower.startswith("cve,epss"):
        return EPSS
    if not text.startswith(("{", "[")):
        raise FileFormatError("not JSON and not an EPSS CSV")
    if '"catalogVersion"' in text or '"cveID"' in text:
        return KEV
    if '"CVE_RECORD"' in text or '"cveMetadata"' in text:
        return CVE5
    if '"CVE_Items"' in text:
        raise FileFormatError("NVD JSON 1.1 feeds are retired; use the NVD CVE API 2.0 or JSON 2.0 feeds")
    if '"vulnerabilities"' in text or '"NVD_CVE"' in text:
        return NVD
    raise FileFormatError("unrecognised JSON: not an NVD 2.0 feed, CVE JSON 5 record, or KEV catalog")


def _nvd_items(data: DataFile) -> Iterator[Any]:
    """The feed's items: the fast C-scanner reader, or ijson (re-reading the file) when the input is unusual."""
    done = 0
    try:
        for item in nvd_items(guarded(data.stream)):
            done += 1
            yield item
        return
    except Exception:  # noqa: BLE001, S110 - ijson below decides what the problem is, and reports it
        pass
    fresh = open_data(data.path)
    try:
        for index, item in enumerate(ijson.items(guarded(fresh.stream), "vulnerabilities.item")):
            if index >= done:
                yield item
    finally:
        fresh.close()


def _item_id(item: Any, *path: str) -> str:
    for key in path:
        item = item.get(key) if isinstance(item, dict) else None
    return item[:40] if isinstance(item, str) else "(unknown)"


def item_id(item: Any, fmt: str) -> str:
    """The record id an item names, for messages ("(unknown)" if it names none)."""
    return _item_id(item, "cve", "id") if fmt == NVD else _item_id(item, "cveMetadata", "cveId")


def _record(item: Any, index: int, fmt: str, build: Callable[[Any], Any], value: Any) -> Parsed:
    rid = item_id(item, fmt)
    rid = f"#{index}" if rid == "(unknown)" else rid
    try:
        return Parsed(rid, build(value))
    except RecordError as exc:
        return Parsed(rid, error=str(exc))


def nvd_record(item: Any, index: int) -> Parsed:
    """One item of an NVD feed's `vulnerabilities` array as a record, or the reason it is not one."""
    return _record(item, index, NVD, record_from_nvd, item.get("cve") if isinstance(item, dict) else None)


def cve5_record(item: Any, index: int) -> Parsed:
    """One CVE JSON 5 record (an item of a list of them, or the whole file) as a record, or the reason."""
    return _record(item, index, CVE5, record_from_cve5, item)


RECORD_BUILDERS = {NVD: nvd_record, CVE5: cve5_record}


def _cve5_items(stream: IO[bytes]) -> Iterator[Any]:
    first = stream.peek(64)[:64].lstrip() if hasattr(stream, "peek") else b"{"
    prefix = "item" if first.startswith(b"[") else ""
    yield from ijson.items(guarded(stream), prefix)


def raw_items(data: DataFile, fmt: str) -> Iterator[Any]:
    """The JSON items of an NVD or CVE 5 file, unvalidated; read errors raise FileFormatError."""
    with file_errors():
        yield from (_nvd_items(data) if fmt == NVD else _cve5_items(data.stream))


def _text(item: dict[str, Any], key: str, limit: int) -> str | None:
    val = item.get(key)
    if val is None:
        return None
    if not isinstance(val, str):
        raise RecordError(f"{key} must be a string")
    return val[:limit]


def kev_row(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise RecordError("entry must be an object")
    cve_id = item.get("cveID")
    if not isinstance(cve_id, str) or not CVE_ID.match(cve_id.strip()):
        raise RecordError("cveID is missing or not a CVE id")
    added = parse_day(item.get("dateAdded"), "dateAdded")
    if added is None:
        raise RecordError("dateAdded is missing")
    return {
        "cve_id": cve_id.strip(),
        "date_added": added,
        "due_date": parse_day(item.get("dueDate"), "dueDate"),
        "vendor_project": _text(item, "vendorProject", 200),
        "product": _text(item, "product", 200),
        "vulnerability_name": _text(item, "vulnerabilityName", 500),
        "required_action": _text(item, "requiredAction", 4000),
        "ransomware": _text(item, "knownRansomwareCampaignUse", 20),
        "notes": _text(item, "notes", 4000),
    }


def _kev(stream: IO[bytes]) -> Iterator[Parsed]:
    for index, item in enumerate(ijson.items(guarded(stream), "vulnerabilities.item")):
        rid = item.get("cveID") if isinstance(item, dict) and isinstance(item.get("cveID"), str) else f"#{index}"
        try:
            yield Parsed(str(rid)[:40], kev_row(item))
        except RecordError as exc:
            yield Parsed(str(rid)[:40], error=str(exc))


def _bounded_lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None]]:
    """Lines of at most _MAX_CSV_LINE bytes; an overlong line is consumed and reported as None."""
    line_no = 0
    while True:
        line = stream.readline(_MAX_CSV_LINE + 1)
        if not line:
            return
        line_no += 1
        if len(line) > _MAX_CSV_LINE and not line.endswith(b"\n"):
            while True:  # skip the rest of the monster line without holding it
                chunk = stream.readline(1 << 20)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield line_no, None
            continue
        yield line_no, line.decode("utf-8", errors="replace").strip()


def _epss(stream: IO[bytes]) -> Iterator[Parsed]:
    score_date: dt.date | None = None
    header_seen = False
    for line_no, line in _bounded_lines(stream):
        if line is None:
            yield Parsed(f"line {line_no}", error=f"line longer than {_MAX_CSV_LINE} bytes")
            continue
        if not line:
            continue
        if line.startswith("#"):
            for part in line.lstrip("#").split(","):
                key, _, value = part.partition(":")
                if key.strip() == "score_date":
                    try:
                        score_date = dt.date.fromisoformat(value.strip()[:10])
                    except ValueError:
                        score_date = None
            continue
        if not header_seen and line.lower().startswith("cve,"):
            header_seen = True
            continue
        fields = line.split(",")
        rid = fields[0].strip()[:40] or f"line {line_no}"
        if len(fields) != 3 or not CVE_ID.match(fields[0].strip()):
            yield Parsed(rid, error=f"line {line_no}: expected cve,epss,percentile")
            continue
        try:
            score, percentile = float(fields[1]), float(fields[2])
        except ValueError:
            yield Parsed(rid, error=f"line {line_no}: epss and percentile must be numbers")
            continue
        if not (math.isfinite(score) and math.isfinite(percentile) and 0 <= score <= 1 and 0 <= percentile <= 1):
            yield Parsed(rid, error=f"line {line_no}: epss and percentile must be between 0 and 1")
            continue
        yield Parsed(rid, {"cve_id": fields[0].strip(), "score": score, "percentile": percentile,
                           "score_date": score_date})


READERS = {KEV: _kev, EPSS: _epss}


@contextlib.contextmanager
def file_errors() -> Iterator[None]:
    """Read errors of any kind as FileFormatError, with the reason a user can act on."""
    try:
        yield
    except (StringTooLong, JsonTooComplex) as exc:
        raise FileFormatError(f"rejected: {exc}") from exc
    except _READ_ERRORS as exc:
        raise FileFormatError(f"file is truncated or malformed: {exc}") from exc
    except RecursionError as exc:
        raise FileFormatError("JSON nested too deeply") from exc


def read_records(data: DataFile, fmt: str) -> Iterator[Parsed]:
    """Yield parsed records; raise FileFormatError (after the good ones) if the file breaks."""
    build = RECORD_BUILDERS.get(fmt)
    if build is not None:
        for index, item in enumerate(raw_items(data, fmt)):
            yield build(item, index)
        return
    with file_errors():
        yield from READERS[fmt](data.stream)
