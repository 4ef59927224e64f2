"""Version parsing and ordering for the software versions banners reveal.

Banners and NVD records use many schemes at once: `8.9p1` (OpenSSH portable), `1.3.3c` (ProFTPD letter
releases), `1.0.2k` (OpenSSL), `2.5.10.1` (Struts), `9.0.0.M1` (Tomcat milestones), `13.1-49.13`
(Citrix builds), `9.1R11.4` (Pulse Secure), `1.0.0-rc1` (semver pre-releases). One ordering covers them:

* numeric segments compare as integers; trailing `.0` segments are insignificant (`2.4` == `2.4.0`);
* a pre-release label (dev < alpha < beta < milestone < rc) sorts *before* the release it precedes;
* any other letter label is a post-release marker (`1.3.3` < `1.3.3c` < `1.3.3.1`);
* build metadata (`+build`, Jetty's `.v20210516` date stamps) is ignored.

Each version becomes a tuple key so comparison is plain tuple comparison: a total order by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache, total_ordering

__all__ = [
    "InvalidVersion",
    "ObservedVersion",
    "Version",
    "VersionRange",
    "compare_versions",
    "parse_observed_version",
    "parse_version",
    "sortable_key",
    "split_update",
    "version_key",
    "with_update",
]


class InvalidVersion(ValueError):
    """The text holds no version we can order."""


# Rank classes of one key element. Their order *is* the ordering rule described above.
_PRE = 0
_END = 1
_POST = 2
_NUM = 3

_PRE_LABELS: dict[str, int] = {
    "dev": 0,
    "snapshot": 0,
    "a": 1,
    "alpha": 1,
    "b": 2,
    "beta": 2,
    "m": 3,
    "milestone": 3,
    "pre": 4,
    "preview": 4,
    "rc": 5,
    "cr": 5,
}
# Single letters that mean "pre-release" only when a separator precedes them and a number follows
# ("1.0.0-a1", "9.0.0.M1"); glued to a number ("1.3.3c", "1.0.2a") they are post-release letters.
_AMBIGUOUS_SINGLE = {"a", "b", "m"}

_TOKEN = re.compile(r"([^0-9a-z]*)(\d+|[a-z]+)")
_DATE_STAMP = re.compile(r"[.\-]v\d{8}(?:\d+)?$")  # Jetty: 9.4.41.v20210516
_VERSION_START = re.compile(r"\d")
_MAX_LEN = 128

Key = tuple[tuple[int, int, str], ...]


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Split into digit/letter runs; the flag says whether a separator came right before the run."""
    found = _TOKEN.findall(text)
    return [(tok, bool(sep) or i == 0) for i, (sep, tok) in enumerate(found)]


def _is_pre(label: str, separated: bool, next_is_num: bool) -> bool:
    if label not in _PRE_LABELS:
        return False
    if label in _AMBIGUOUS_SINGLE:
        return separated and next_is_num
    return True


@lru_cache(maxsize=65536)
def _key(text: str) -> Key:
    cleaned = text.strip().lower()
    if not cleaned or len(cleaned) > _MAX_LEN:
        raise InvalidVersion(f"not a version: {text[:40]!r}")
    cleaned = cleaned.split("+", 1)[0]  # build metadata never orders (semver §10)
    cleaned = _DATE_STAMP.sub("", cleaned)
    if cleaned.startswith("v") and len(cleaned) > 1 and cleaned[1].isdigit():
        cleaned = cleaned[1:]
    toks = _tokens(cleaned)
    if not toks or not toks[0][0].isdigit():
        raise InvalidVersion(f"not a version: {text[:40]!r}")
    items: list[tuple[int, int, str]] = []
    numeric_run: list[tuple[int, int, str]] = []

    def flush_numbers() -> None:
        # Trailing zero segments are insignificant: 2.4 == 2.4.0, 1.0-rc1 == 1.0.0-rc1.
        while len(numeric_run) > 1 and numeric_run[-1][1] == 0:
            numeric_run.pop()
        items.extend(numeric_run)
        numeric_run.clear()

    for i, (tok, separated) in enumerate(toks):
        if tok.isdigit():
            numeric_run.append((_NUM, int(tok[:18]), ""))
            continue
        flush_numbers()
        next_is_num = i + 1 < len(toks) and toks[i + 1][0].isdigit()
        if _is_pre(tok, separated, next_is_num):
            items.append((_PRE, _PRE_LABELS[tok], ""))
        else:
            items.append((_POST, 0, tok))
    flush_numbers()
    items.append((_END, 0, ""))
    return tuple(items)


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """An orderable version; `raw` keeps the text as seen."""

    raw: str
    key: Key = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.raw


def parse_version(text: str) -> Version:
    return Version(raw=text.strip(), key=_key(text))


def compare_versions(a: str, b: str) -> int:
    ka, kb = _key(a), _key(b)
    return (ka > kb) - (ka < kb)


_UPDATE_SUFFIX = re.compile(r"^(?P<base>.*?\d)(?P<update>p\d+|[a-z])$", re.IGNORECASE)


def version_key(text: str) -> Key:
    """The (cached) sort key of a version; raises InvalidVersion."""
    return _key(text)


@lru_cache(maxsize=65536)
def split_update(version: str) -> tuple[str, str | None]:
    """`8.5p1` -> (`8.5`, `p1`); `1.3.3c` -> (`1.3.3`, `c`); `2.4.49` -> (`2.4.49`, None).

    NVD keeps these patch levels in the CPE *update* field for some products (openssh:8.5:p1,
    proftpd:1.3.3:c) and compares its version ranges on the version field alone.
    """
    m = _UPDATE_SUFFIX.match(version.strip())
    if not m:
        return version.strip(), None
    return m.group("base"), m.group("update").lower()


_UPDATE_LABEL = re.compile(r"([a-z]+)(\d*)")


def with_update(version: str, update: str) -> str:
    """A CPE's version and update fields as one version. NVD writes Tomcat milestones as `9.0.0:m1`:
    joined with a separator that is the milestone `9.0.0.M1` (before 9.0.0), not the post-release letter
    `9.0.0m1`; patch levels (`8.5:p1`, `1.3.3:c`) stay glued (`8.5p1`, after 8.5)."""
    m = _UPDATE_LABEL.fullmatch(update.lower())
    if m and _is_pre(m.group(1), True, bool(m.group(2))):
        return f"{version}.{update}"
    return version + update


@dataclass(frozen=True)
class VersionRange:
    """NVD range: any of the four bounds may be absent. No bounds at all matches every version."""

    start_including: str | None = None
    start_excluding: str | None = None
    end_including: str | None = None
    end_excluding: str | None = None

    @property
    def unbounded(self) -> bool:
        return not (self.start_including or self.start_excluding or self.end_including or self.end_excluding)

    def contains(self, version: str | Version) -> bool:
        key = version.key if isinstance(version, Version) else _key(version)
        if self.start_including and key < _key(self.start_including):
            return False
        if self.start_excluding and key <= _key(self.start_excluding):
            return False
        if self.end_including and key > _key(self.end_including):
            return False
        if self.end_excluding and key >= _key(self.end_excluding):
            return False
        return True


# Distribution markers in banners and package versions. Distributions backport security fixes without
# changing the upstream version, so a match behind one of these is only `potential`.
_DISTROS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ubuntu", re.compile(r"ubuntu", re.I)),
    ("debian", re.compile(r"debian|\+deb\d+u\d+|\bdeb\d+u?\d*", re.I)),
    ("raspbian", re.compile(r"raspbian", re.I)),
    ("rhel", re.compile(r"red\s?hat|rhel|\.el\d+|\bel\d+\b", re.I)),
    ("centos", re.compile(r"centos", re.I)),
    ("fedora", re.compile(r"fedora|\.fc\d+", re.I)),
    ("suse", re.compile(r"suse|sles", re.I)),
    ("alpine", re.compile(r"alpine", re.I)),
    ("amazon", re.compile(r"amzn|amazon", re.I)),
    ("oracle_linux", re.compile(r"\.el\d+_\d|oracle linux|\buek\b", re.I)),
    ("gentoo", re.compile(r"gentoo", re.I)),
)
_UPSTREAM = re.compile(r"\d+(?:[.\-_]?[0-9A-Za-z]+)*")
_REVISION_MARKER = re.compile(r"ubuntu|deb\d|\bel\d|\.el\d|\.fc\d|amzn|suse|alpine|\+deb|\.sles", re.I)


@dataclass(frozen=True)
class ObservedVersion:
    """What a banner says: the upstream version and, if present, the distribution that built it."""

    upstream: str
    distro: str | None = None
    distro_revision: str | None = None

    @property
    def backport_possible(self) -> bool:
        return self.distro is not None


def parse_observed_version(text: str) -> ObservedVersion:
    """Read a version as banners show it.

    `OpenSSH_9.2p1 Debian-2+deb12u3` -> 9.2p1 (debian, 2+deb12u3); `2.4.41 (Ubuntu)` -> 2.4.41 (ubuntu);
    `2.4.6-97.el7` -> 2.4.6 (rhel); `9.2p1` -> 9.2p1.
    """
    raw = text.strip()[:256]
    m = _VERSION_START.search(raw)
    if not m:
        raise InvalidVersion(f"no version in {text[:40]!r}")
    # Take the first version-looking run after any product prefix such as "OpenSSH_".
    rest = raw[m.start() :]
    first = rest.split()[0] if rest.split() else rest
    first = first.rstrip(",;)")
    tail = raw[m.start() + len(first) :]
    revision: str | None = None
    # Package versions glue the distro revision on with a dash: 2.4.41-4ubuntu3.14, 2.4.6-97.el7.
    if "-" in first:
        up, _, rev = first.partition("-")
        if _REVISION_MARKER.search(rev):
            first, revision = up, rev
    upstream_m = _UPSTREAM.match(first)
    if not upstream_m:
        raise InvalidVersion(f"no version in {text[:40]!r}")
    upstream = upstream_m.group(0)
    _key(upstream)  # validates
    distro = None
    haystack = f"{revision or ''} {tail} {raw[: m.start()]}"
    for name, pattern in _DISTROS:
        if pattern.search(haystack):
            distro = name
            break
    if distro and revision is None:
        # Debian/Ubuntu OpenSSH banners put the package revision after the distro name.
        rev = re.search(r"(?:debian|ubuntu)[-\s]+(\S+)", tail, re.I)
        revision = rev.group(1) if rev else None
    return ObservedVersion(upstream=upstream, distro=distro, distro_revision=revision)


_KEY_ELEMENTS = 12
_LABEL_WIDTH = 6
_NUM_CAP = 10**12 - 1


@lru_cache(maxsize=65536)
def sortable_key(text: str) -> str:
    """Encode a version as a string whose byte order matches the version order (for SQL prefilters).

    Long versions, huge numbers and long labels are truncated, which can only make two different
    versions encode equal — so a range prefilter built on these keys never drops a true match.
    Compare with binary ("C") collation.
    """
    parts = []
    for cls, num, label in _key(text)[:_KEY_ELEMENTS]:
        lab = "".join(ch for ch in label if "a" <= ch <= "z")[:_LABEL_WIDTH].ljust(_LABEL_WIDTH, "0")
        parts.append(f"{cls}{min(num, _NUM_CAP):012d}{lab}")
    return "".join(parts)
