"""Guards for untrusted JSON streams, applied before a parser sees the bytes: ijson buffers whole strings
and builds nested items with memory quadratic in depth, and its C backend crashes on huge numbers. Each
guard works a chunk at a time at C speed and raises before the parser is given the chunk."""

from __future__ import annotations

import io
import re
from typing import IO, Any

__all__ = ["MAX_JSON_DEPTH", "MAX_JSON_STRING", "JsonTooComplex", "StringTooLong", "guarded"]


MAX_JSON_STRING = 1 << 20  # NVD's longest strings are a few kB; anything near this is hostile


class StringTooLong(ValueError):
    pass


class _Guard(io.RawIOBase):
    """A reader that passes the inner stream's bytes on, a chunk at a time, after `check` has seen them."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.offset = 0  # of the chunk being checked, for messages

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(min(len(buffer), 256 * 1024))
        self.check(data)
        n = len(data)
        self.offset += n
        buffer[:n] = data
        return n

    def check(self, data: bytes) -> None:
        raise NotImplementedError


class _StringGuard(_Guard):
    """Refuses JSON whose strings exceed MAX_JSON_STRING bytes before the parser buffers them.

    It counts bytes between double quotes; escaped quotes only shorten the runs, so the check can only
    be lenient, never wrong about a legitimate file.
    """

    def __init__(self, inner: IO[bytes], limit: int = MAX_JSON_STRING) -> None:
        super().__init__(inner, limit)
        self.run = 0

    def check(self, data: bytes) -> None:
        n = len(data)
        first = data.find(b'"')
        if first == -1:
            self.run += n
        else:
            if self.run + first > self.limit:
                self.run += first
            else:
                self.run = n - 1 - data.rfind(b'"')
        if self.run > self.limit:
            raise StringTooLong(f"a JSON value near byte {self.offset} is longer than {self.limit} bytes")


MAX_JSON_DEPTH = 128  # NVD and CVE 5 records nest about 10 deep
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: 4x faster than (?:[^"\\]|\\.)*
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
MAX_JSON_NUMBER = 100  # digits; ijson's C backend segfaults past Python's 4300-digit int limit
_LONG_NUMBER = re.compile(rb"\d{%d}" % (MAX_JSON_NUMBER + 1))


class JsonTooComplex(ValueError):
    pass


class _ShapeGuard(_Guard):
    """Refuses JSON nested deeper than MAX_JSON_DEPTH, or with numbers longer than MAX_JSON_NUMBER, before
    the parser sees it: ijson's item builder uses memory quadratic in depth (a 400 kB file of brackets
    took gigabytes) and its C backend crashes the process on a 5000-digit number. Works a chunk at a
    time at C speed: strings are cut out, then matched bracket pairs are peeled one level per pass."""

    def __init__(self, inner: IO[bytes], limit: int = MAX_JSON_DEPTH) -> None:
        super().__init__(inner, limit)
        self.depth = 0
        self.pending = b""  # an unterminated string carried into the next chunk
        self.number_tail = b""  # a number that may continue in the next chunk

    def check(self, data: bytes) -> None:
        text = _JSON_STRING.sub(b"", self.pending + data)
        quote = text.find(b'"')
        self.pending = text[quote:] if quote != -1 else b""
        outside = text[:quote] if quote != -1 else text
        if _LONG_NUMBER.search(self.number_tail + outside):
            raise JsonTooComplex(f"JSON near byte {self.offset} has a number longer than {MAX_JSON_NUMBER} "
                                 "digits")
        digits = outside[len(outside.rstrip(b"0123456789")):] if quote == -1 else b""
        self.number_tail = digits[-MAX_JSON_NUMBER:]
        brackets = outside.translate(None, _NOT_BRACKETS)
        inner = 0
        while brackets:
            peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
            if peeled == brackets:
                break
            brackets, inner = peeled, inner + 1
            if inner > self.limit:
                break
        opens = brackets.count(b"[") + brackets.count(b"{")
        closes = len(brackets) - opens
        if max(self.depth, self.depth - closes + opens) + inner > self.limit:
            raise JsonTooComplex(f"JSON near byte {self.offset} is nested more than {self.limit} levels deep")
        self.depth = max(0, self.depth - closes + opens)


def guarded(stream: IO[bytes]) -> IO[bytes]:
    return io.BufferedReader(_ShapeGuard(_StringGuard(stream)), buffer_size=256 * 1024)
