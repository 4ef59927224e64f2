"""A fast reader for the items of an NVD feed's top-level `vulnerabilities` array.

ijson builds each item from parser events in Python-visible steps; the standard library's C scanner
(`JSONDecoder.raw_decode`) builds the same objects about twice as fast. This reader walks the top-level
object itself and hands each array item to the C scanner, reading the (already guarded) stream in chunks.

It only handles the well-formed, ordinary shape. On anything else (broken JSON, a guard refusing the
input, NaN literals, an item that will not fit the buffer) it raises `Unusual`, and the caller re-reads
the file with ijson, skipping the items already yielded, so errors and edge cases behave exactly as
ijson decides.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

__all__ = ["MAX_PIECE", "Unusual", "nvd_item_pieces", "nvd_items"]

_CHUNK = 1 << 20
_MAX_PENDING = 64 << 20  # an item this big is not NVD data; let ijson decide what it is
_WS = re.compile(r"[ \t\n\r]*")


class Unusual(Exception):
    """The input is not the plain shape this reader handles."""


def _no_constants(name: str) -> Any:
    raise Unusual(f"JSON constant {name}")  # ijson rejects NaN/Infinity; so must we


# Decimal for fractions, as ijson yields them, so records see the same types either way.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)


class _Buffer:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False

    def refill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        self.eof = not chunk
        self.text = self.text[self.pos :] + self.decoder.decode(chunk, final=self.eof)
        self.pos = 0
        if len(self.text) > _MAX_PENDING:
            raise Unusual("item too large for the fast reader")
        return True

    def peek(self) -> str:
        """The next non-blank character ("" at the end of the input)."""
        while True:
            self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.refill():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise Unusual(f"expected {char!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # Usually the value continues in the next chunk; at the end of the input it is broken.
                if not self.refill():
                    raise Unusual("malformed JSON") from exc
                continue
            if end == len(self.text) and not self.eof and not isinstance(obj, dict | list | str):
                # A number or literal at the very end of the buffer may continue in the next chunk.
                if self.refill():
                    continue
            self.pos = end
            return obj


def nvd_items(stream: IO[bytes]) -> Iterator[Any]:
    """Yield each item of the top-level object's `vulnerabilities` array; raise Unusual otherwise."""
    buf = _Buffer(stream)
    buf.expect("{")
    if buf.peek() == "}":
        buf.pos += 1
    else:
        while True:
            if buf.peek() != '"':
                raise Unusual("expected a key")
            key = buf.value()
            buf.expect(":")
            if key == "vulnerabilities":
                buf.expect("[")
                if buf.peek() == "]":
                    buf.pos += 1
                else:
                    while True:
                        if buf.peek() not in "{[":
                            raise Unusual("array item is not an object")
                        yield buf.value()
                        nxt = buf.peek()
                        buf.pos += 1
                        if nxt == "]":
                            break
                        if nxt != ",":
                            raise Unusual("expected , or ]")
            else:
                buf.value()
            nxt = buf.peek()
            buf.pos += 1
            if nxt == "}":
                break
            if nxt != ",":
                raise Unusual("expected , or }")
    if buf.peek() != "":
        raise Unusual("data after the top-level object")


# ---- splitting a feed into its items' bytes, for parser processes ---------------------------------------

MAX_PIECE = 8 << 20  # NVD's biggest items are far smaller; a bigger one is left to the careful readers
_HEAD = re.compile(rb'"vulnerabilities"\s*:\s*\[\s*')
_ITEM_START = re.compile(rb'\{\s*"cve"\s*:')
_ARRAY_END = re.compile(rb"\]\s*\}\s*\Z")
_WS_BYTES = b" \t\n\r"


def nvd_item_pieces(stream: IO[bytes]) -> Iterator[bytes]:
    """Yield the raw bytes of each item of an NVD feed's `vulnerabilities` array, without decoding them.

    Items are cut where the next `{"cve":` begins. That text cannot occur inside a JSON string (its quote
    would end the string), but it could start a nested object; a cut there leaves the piece before it
    an unclosed object. So the caller must decode every piece and treat one that is not a complete
    object as `Unusual`: then every cut was at an item boundary. Raises `Unusual` when the file is not
    this plain shape: the array not being the last key, a piece over MAX_PIECE, anything before it but
    scalars and objects (checked by decoding the head).
    """
    buf = b""
    eof = False
    # read1: what the stream has, without insisting on a full chunk (a truncated gzip file still yields
    # everything before its break instead of failing the read that reaches it).
    read = getattr(stream, "read1", stream.read)

    def more() -> bool:
        nonlocal buf, eof
        if eof:
            return False
        chunk = read(_CHUNK)
        eof = not chunk
        buf += chunk
        return bool(chunk)

    while (head := _HEAD.search(buf)) is None:
        if len(buf) > _CHUNK or not more():
            raise Unusual("no vulnerabilities array near the start")
    before = buf[: head.start()].strip(_WS_BYTES)
    if before != b"{" and (not before.endswith(b",") or before[:-1].rstrip(_WS_BYTES) == b"{"):
        raise Unusual("unusual head")  # keys before the array need a comma after them; "{," is not JSON
    try:
        prefix = json.loads(before.removesuffix(b",") + b"}")
    except ValueError as exc:
        raise Unusual("unusual head") from exc
    if not isinstance(prefix, dict):
        raise Unusual("unusual head")
    buf, pos = buf[head.end():], 0
    while not eof and len(buf) < 64:
        more()
    if buf.lstrip(_WS_BYTES).startswith(b"]"):
        if not _ARRAY_END.match(buf.lstrip(_WS_BYTES)) or more():
            raise Unusual("data after the array")
        return
    if not _ITEM_START.match(buf):
        raise Unusual("array item is not a {\"cve\": …} object")
    while True:
        nxt = _ITEM_START.search(buf, pos + 1)
        if nxt is None:
            if len(buf) - pos > MAX_PIECE:
                raise Unusual("item too large for the fast reader")
            if more():
                buf, pos = buf[pos:], 0
                continue
            tail = buf[pos:]
            end = _ARRAY_END.search(tail)
            if end is None:
                raise Unusual("the array is not the last value")
            yield tail[: end.start()].rstrip(_WS_BYTES)
            return
        piece = buf[pos : nxt.start()].rstrip(_WS_BYTES)
        if not piece.endswith(b","):
            raise Unusual("expected , between items")
        yield piece[:-1].rstrip(_WS_BYTES)
        pos = nxt.start()
