"""Just enough BSON for MongoDB's hello / buildInfo / listDatabases commands."""

from __future__ import annotations

import struct
from typing import Any


def encode(doc: dict[str, Any]) -> bytes:
    out = b""
    for key, value in doc.items():
        k = key.encode() + b"\x00"
        if isinstance(value, bool):
            out += b"\x08" + k + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            out += b"\x10" + k + struct.pack("<i", value)
        elif isinstance(value, str):
            raw = value.encode() + b"\x00"
            out += b"\x02" + k + struct.pack("<i", len(raw)) + raw
        else:
            raise TypeError(f"unsupported BSON value for {key}")
    return struct.pack("<i", len(out) + 5) + out + b"\x00"


def decode(data: bytes) -> dict[str, Any]:
    doc, _ = _decode(data, 0)
    return doc


def _decode(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    (length,) = struct.unpack_from("<i", data, pos)
    end = pos + length - 1
    pos += 4
    doc: dict[str, Any] = {}
    while pos < end:
        kind = data[pos]
        name_end = data.index(b"\x00", pos + 1)
        key = data[pos + 1 : name_end].decode("utf-8", "replace")
        pos = name_end + 1
        value: Any
        if kind == 0x01:
            (value,) = struct.unpack_from("<d", data, pos)
            pos += 8
        elif kind in (0x02, 0x0D, 0x0E):
            (n,) = struct.unpack_from("<i", data, pos)
            value = data[pos + 4 : pos + 3 + n].decode("utf-8", "replace")
            pos += 4 + n
        elif kind in (0x03, 0x04):
            value, pos = _decode(data, pos)
            if kind == 0x04:
                value = list(value.values())
        elif kind == 0x05:
            (n,) = struct.unpack_from("<i", data, pos)
            value = data[pos + 5 : pos + 5 + n]
            pos += 5 + n
        elif kind == 0x07:
            value, pos = data[pos : pos + 12].hex(), pos + 12
        elif kind == 0x08:
            value, pos = data[pos] == 1, pos + 1
        elif kind in (0x09, 0x11, 0x12):
            (value,) = struct.unpack_from("<q", data, pos)
            pos += 8
        elif kind in (0x0A, 0x06, 0xFF, 0x7F):
            value = None
        elif kind == 0x10:
            (value,) = struct.unpack_from("<i", data, pos)
            pos += 4
        elif kind == 0x13:
            value, pos = data[pos : pos + 16], pos + 16
        else:
            raise ValueError(f"unsupported BSON type {kind:#x}")
        doc[key] = value
    return doc, end + 1
