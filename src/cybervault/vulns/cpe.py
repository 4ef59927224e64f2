"""CPE names: the 2.3 formatted string (NVD) and the 2.2 URI (what nmap emits).

Values are kept *unescaped*. The two logical values ANY (`*`) and NA (`-`) are the module constants
below; a literal asterisk or dash spelled with a backslash in the formatted string stays escaped so it can
never be confused with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from urllib.parse import unquote

__all__ = ["ANY", "NA", "Cpe", "InvalidCpe", "parse_cpe", "cpe_matches"]

ANY = "*"
NA = "-"

_ATTRS = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)
_MAX_LEN = 1024
_PARTS = {"a", "o", "h", ANY}


class InvalidCpe(ValueError):
    """The text is not a CPE 2.3 formatted string or 2.2 URI."""


@dataclass(frozen=True, slots=True)
class Cpe:
    part: str = ANY
    vendor: str = ANY
    product: str = ANY
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def to_formatted_string(self) -> str:
        return "cpe:2.3:" + ":".join(_escape(getattr(self, a)) for a in _ATTRS)

    def __str__(self) -> str:
        return self.to_formatted_string()

    @property
    def has_version(self) -> bool:
        return self.version not in (ANY, NA)


def _split_unescaped(text: str) -> list[str]:
    """Split on ':' not preceded by an escaping backslash."""
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise InvalidCpe("dangling backslash")
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch == ":":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _unescape(value: str) -> str:
    if value in (ANY, NA, ""):
        return value or ANY
    if "\\" not in value:
        return value.lower()
    if value in ("\\*", "\\-"):
        return value  # literal, kept escaped so it differs from ANY/NA
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out).lower()


_NEEDS_ESCAPE = re.compile(r"([^A-Za-z0-9_])")


def _escape(value: str) -> str:
    if value in (ANY, NA, "\\*", "\\-"):
        return value
    return _NEEDS_ESCAPE.sub(r"\\\1", value)


def _from_formatted(text: str) -> Cpe:
    pieces = text.split(":") if "\\" not in text else _split_unescaped(text)
    if len(pieces) != 13 or pieces[0].lower() != "cpe" or pieces[1] != "2.3":
        raise InvalidCpe(f"a CPE 2.3 name has 13 colon-separated fields: {text[:80]!r}")
    values = [_unescape(p) for p in pieces[2:]]
    if values[0] not in _PARTS:
        raise InvalidCpe(f"part must be a, o or h: {text[:80]!r}")
    return Cpe(*values)


def _from_uri(text: str) -> Cpe:
    body = text[5:]
    comps = body.split(":")
    if len(comps) > 7 or not comps[0]:
        raise InvalidCpe(f"not a CPE 2.2 URI: {text[:80]!r}")
    decoded = [unquote(c).lower() if c else ANY for c in comps]
    decoded += [ANY] * (7 - len(decoded))
    part, vendor, product, version, update, edition, language = decoded
    if part not in _PARTS:
        raise InvalidCpe(f"part must be a, o or h: {text[:80]!r}")
    sw_edition = target_sw = target_hw = other = ANY
    if edition.startswith("~"):
        # Packed edition: ~edition~sw_edition~target_sw~target_hw~other
        packed = (edition[1:].split("~") + [""] * 5)[:5]
        edition, sw_edition, target_sw, target_hw, other = (p or ANY for p in packed)
    return Cpe(
        part, vendor, product, version, update, edition, language, sw_edition, target_sw, target_hw, other
    )


@lru_cache(maxsize=32768)
def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string or a 2.2 URI (cached: feeds repeat the same names)."""
    text = text.strip()
    if len(text) > _MAX_LEN:
        raise InvalidCpe("CPE name too long")
    lower = text[:8].lower()
    if lower.startswith("cpe:2.3:"):
        return _from_formatted(text)
    if lower.startswith("cpe:/"):
        return _from_uri(text)
    raise InvalidCpe(f"not a CPE name: {text[:80]!r}")


def _attr_matches(criterion: str, target: str) -> bool:
    if criterion == ANY:
        return True
    if criterion == NA:
        return target in (NA, ANY)
    if target == ANY:
        # The target does not say; it may be this value, which is what a lookup by name wants.
        return True
    return criterion == target


def cpe_matches(criterion: Cpe, target: Cpe, *, ignore: tuple[str, ...] = ()) -> bool:
    """Name matching (CPE 2.3 name matching, superset/equal), attribute by attribute.

    `ignore` skips attributes the caller compares itself (the matcher handles version/update ranges).
    """
    for f in fields(Cpe):
        if f.name in ignore:
            continue
        if not _attr_matches(getattr(criterion, f.name), getattr(target, f.name)):
            return False
    return True
