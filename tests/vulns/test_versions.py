"""Version ordering as a scanner user relies on it: the wrong order means a missed or a false CVE."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cybervault.vulns.versions import (
    InvalidVersion,
    VersionRange,
    compare_versions,
    parse_observed_version,
    parse_version,
    split_update,
)

ORDERED = [
    ("8.9p1", "9.2p1"),
    ("1.3.3", "1.3.3c"),
    ("1.3.3b", "1.3.3c"),
    ("1.3.3c", "1.3.3.1"),
    ("2.5.10", "2.5.10.1"),
    ("2.4.9", "2.4.49"),
    ("1.0rc1", "1.0"),
    ("1.0.0-alpha", "1.0.0-alpha.1"),
    ("1.0.0-alpha.1", "1.0.0-beta"),
    ("1.0.0-beta.2", "1.0.0-rc1"),
    ("1.0.0-rc1", "1.0.0"),
    ("1.0.0.dev1", "1.0.0a1"),
    ("9.0.0.M1", "9.0.0"),
    ("9.0.0.M9", "9.0.0.M13"),
    ("8.5", "8.5p1"),
    ("1.0.1f", "1.0.1g"),
    ("1.0.2k", "1.0.2zg"),
    ("13.1-48.47", "13.1-49.13"),
    ("9.1r10", "9.1r11.4"),
    ("9.4.40.v20210413", "9.4.41"),
    ("5.15.15", "5.15.16"),
]


@pytest.mark.parametrize(("lower", "higher"), ORDERED)
def test_known_orderings(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)
    assert compare_versions(higher, lower) == 1


SAME = [("2.4", "2.4.0"), ("1.0-rc1", "1.0.0-rc1"), ("V2.1", "2.1"), ("2.1+build7", "2.1")]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_equivalent_spellings(a: str, b: str) -> None:
    assert parse_version(a) == parse_version(b)
    assert hash(parse_version(a)) == hash(parse_version(b))


@pytest.mark.parametrize("bad", ["", "abc", "x" * 200, "   "])
def test_garbage_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_version(bad)


@pytest.mark.parametrize(
    ("banner", "upstream", "distro"),
    [
        ("OpenSSH_9.2p1 Debian-2+deb12u3", "9.2p1", "debian"),
        ("9.2p1 Debian 2+deb12u3", "9.2p1", "debian"),
        ("8.9p1 Ubuntu-3ubuntu0.6", "8.9p1", "ubuntu"),
        ("2.4.41 (Ubuntu)", "2.4.41", "ubuntu"),
        ("2.4.6-97.el7", "2.4.6", "rhel"),
        ("2.4.41-4ubuntu3.14", "2.4.41", "ubuntu"),
        ("OpenSSH_7.4", "7.4", None),
        ("13.1-49.13", "13.1-49.13", None),
    ],
)
def test_banner_versions(banner: str, upstream: str, distro: str | None) -> None:
    seen = parse_observed_version(banner)
    assert seen.upstream == upstream
    assert seen.distro == distro
    assert seen.backport_possible is (distro is not None)


def test_split_update() -> None:
    assert split_update("8.5p1") == ("8.5", "p1")
    assert split_update("1.3.3c") == ("1.3.3", "c")
    assert split_update("2.4.49") == ("2.4.49", None)


# Property tests: versions built from the pieces real versions are made of.
_label = st.sampled_from(["", "a", "c", "p1", "p2", "rc1", "-rc2", "-beta", ".M1", "-alpha.1", "b", "-1", "z"])
_numbers = st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=5)
versions = st.builds(lambda nums, label: ".".join(map(str, nums)) + label, _numbers, _label)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions, versions)
def test_total_order_antisymmetric(a: str, b: str) -> None:
    va, vb = parse_version(a), parse_version(b)
    assert (va < vb) + (va == vb) + (va > vb) == 1
    assert compare_versions(a, b) == -compare_versions(b, a)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions, versions, versions)
def test_transitive(a: str, b: str, c: str) -> None:
    x, y, z = sorted([parse_version(a), parse_version(b), parse_version(c)])
    assert x <= y <= z
    assert x <= z


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions, versions, versions)
def test_range_membership_matches_comparisons(low: str, high: str, probe: str) -> None:
    lo, hi, v = parse_version(low), parse_version(high), parse_version(probe)
    assert VersionRange(start_including=low, end_excluding=high).contains(probe) == (lo <= v < hi)
    assert VersionRange(start_excluding=low, end_including=high).contains(probe) == (lo < v <= hi)
    assert VersionRange().contains(probe)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_numbers, st.integers(min_value=1, max_value=9))
def test_patch_level_sorts_after_release(nums: list[int], p: int) -> None:
    base = ".".join(map(str, nums))
    assert parse_version(base) < parse_version(f"{base}p{p}")
    assert parse_version(f"{base}rc{p}") < parse_version(base)
