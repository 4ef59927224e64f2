import pytest

from cybervault.vulns.cpe import ANY, NA, InvalidCpe, cpe_matches, parse_cpe


def test_formatted_string_fields() -> None:
    c = parse_cpe("cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*")
    assert (c.part, c.vendor, c.product, c.version, c.update) == ("a", "openbsd", "openssh", "8.5", "p1")
    assert c.edition == ANY


def test_escaped_characters_are_unescaped_and_round_trip() -> None:
    text = r"cpe:2.3:a:pureftpd:pure-ftpd:1.0.49:*:*:*:*:*:*:*"
    c = parse_cpe(text)
    assert c.product == "pure-ftpd"
    colon = parse_cpe(r"cpe:2.3:a:vendor:product\:x:1.0\:beta:*:*:*:*:*:*:*")
    assert colon.product == "product:x"
    assert colon.version == "1.0:beta"
    assert parse_cpe(colon.to_formatted_string()) == colon


def test_any_and_na_are_distinct_from_literals() -> None:
    c = parse_cpe(r"cpe:2.3:a:v:p:-:\*:*:*:*:*:*:*")
    assert c.version == NA
    assert c.update == r"\*"
    assert c.update != ANY


def test_uri_binding_from_nmap() -> None:
    c = parse_cpe("cpe:/a:igor_sysoev:nginx:1.18.0")
    assert (c.part, c.vendor, c.product, c.version, c.update) == ("a", "igor_sysoev", "nginx", "1.18.0", ANY)
    packed = parse_cpe("cpe:/a:vendor:prod:1.0::~~lts~~~")
    assert packed.sw_edition == "lts"
    assert parse_cpe("cpe:/a:apache:http_server:2.4.49%21").version == "2.4.49!"


@pytest.mark.parametrize(
    "bad",
    ["", "cpe:2.3:a:too:few", "cpe:2.3:x:v:p:*:*:*:*:*:*:*:*", "http://x", "cpe:/",
     "cpe:2.3:" + "a" * 2000, "cpe:2.3:a:v:p\\"],
)
def test_malformed_names_rejected(bad: str) -> None:
    with pytest.raises(InvalidCpe):
        parse_cpe(bad)


def test_matching_any_na_and_values() -> None:
    crit = parse_cpe("cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*")
    assert cpe_matches(crit, parse_cpe("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"))
    assert not cpe_matches(crit, parse_cpe("cpe:2.3:a:apache:tomcat:9.0.1:*:*:*:*:*:*:*"))
    na = parse_cpe("cpe:2.3:a:openbsd:openssh:9.8:-:*:*:*:*:*:*")
    assert not cpe_matches(na, parse_cpe("cpe:2.3:a:openbsd:openssh:9.8:p1:*:*:*:*:*:*"))
    assert cpe_matches(na, parse_cpe("cpe:2.3:a:openbsd:openssh:9.8:-:*:*:*:*:*:*"))
