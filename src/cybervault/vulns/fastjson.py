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

__all__ = ["Unusual", "nvd_items"]

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
