"""The shipped dataset: shape, and for every product family a vulnerable and the first fixed version."""

from __future__ import annotations

import pytest

from cybervault.vulns.data.build import read_curated
from cybervault.vulns.dataset import load_shipped_records, shipped_index
from cybervault.vulns.matching import Confidence

# (product as a banner names it, vulnerable version, first fixed version, CVE)
GOLDEN = [
    ("OpenSSH", "9.7p1", "9.8p1", "CVE-2024-6387"),
    ("OpenSSH", "9.3p1", "9.3p2", "CVE-2023-38408"),
    ("OpenSSH", "7.7p1", "7.8p1", "CVE-2018-15473"),
    ("libssh", "0.8.3", "0.8.4", "CVE-2018-10933"),
    ("Apache httpd", "2.4.49", "2.4.50", "CVE-2021-41773"),
    ("Apache httpd", "2.4.50", "2.4.51", "CVE-2021-42013"),
    ("Apache httpd", "2.4.59", "2.4.60", "CVE-2024-38476"),
    ("nginx", "1.20.0", "1.20.1", "CVE-2021-23017"),
    ("nginx", "1.13.2", "1.13.3", "CVE-2017-7529"),
    ("internet_information_services", "6.0", "7.0", "CVE-2017-7269"),
    ("Apache Tomcat", "9.0.30", "9.0.31", "CVE-2020-1938"),
    ("Apache Tomcat", "8.5.50", "8.5.51", "CVE-2020-1938"),
    ("Apache Tomcat", "10.1.34", "10.1.35", "CVE-2025-24813"),
    ("Apache Struts", "2.5.10", "2.5.10.1", "CVE-2017-5638"),
    ("Apache Struts", "2.3.31", "2.3.32", "CVE-2017-5638"),
    ("Apache Struts", "6.3.0.1", "6.3.0.2", "CVE-2023-50164"),
    ("Jetty", "9.4.38", "9.4.39", "CVE-2021-28164"),
    ("vsftpd", "2.3.4", "2.3.5", "CVE-2011-2523"),
    ("ProFTPD", "1.3.5e", "1.3.6", "CVE-2015-3306"),
    ("ProFTPD", "1.3.7b", "1.3.7c", "CVE-2021-46854"),
    ("Pure-FTPd", "1.0.49", "1.0.50", "CVE-2019-20176"),  # NVD lists 1.0.49 only
    ("Exim", "4.91", "4.92", "CVE-2019-10149"),
    ("Exim", "4.96", "4.96.1", "CVE-2023-42115"),
    ("Postfix", "3.8.3", "3.8.4", "CVE-2023-51764"),  # NVD: 3.8.x before 3.8.4
    ("Sendmail", "8.17.2", "8.18.0.2", "CVE-2023-51765"),  # NVD: before 8.18.0.2
    ("OpenSMTPD", "6.6.1p1", "6.6.2p1", "CVE-2020-7247"),
    ("OpenSMTPD", "6.6.3p1", "6.6.4", "CVE-2020-8794"),  # NVD names the vendor opensmtpd, banners openbsd
    ("Dovecot", "2.3.7.1", "2.3.7.2", "CVE-2019-11500"),
    ("Samba", "4.6.3", "4.6.4", "CVE-2017-7494"),
    ("Samba", "4.15.4", "4.15.5", "CVE-2021-44142"),
    ("Redis", "6.2.3", "6.2.4", "CVE-2021-32625"),
    ("Redis", "7.0.10", "7.0.11", "CVE-2023-28856"),
    ("PostgreSQL", "15.2", "15.3", "CVE-2023-2454"),
    ("PostgreSQL", "17.2", "17.3", "CVE-2025-1094"),
    ("MySQL", "5.7.15", "5.7.16", "CVE-2016-6662"),
    ("MySQL", "8.0.23", "8.0.24", "CVE-2021-3449"),  # NVD names it oracle:mysql_server
    ("MariaDB", "10.5.8", "10.5.9", "CVE-2021-27928"),
    ("MongoDB", "4.0.8", "4.0.9", "CVE-2019-2386"),
    ("Elasticsearch", "8.9.0", "8.9.1", "CVE-2023-31419"),
    ("RabbitMQ", "3.8.15", "3.8.16", "CVE-2021-22116"),
    ("ActiveMQ", "5.18.2", "5.18.3", "CVE-2023-46604"),
    ("ActiveMQ", "5.15.15", "5.15.16", "CVE-2023-46604"),
    ("Mosquitto", "2.0.15", "2.0.16", "CVE-2023-28366"),
    ("OpenSSL", "1.0.1f", "1.0.1g", "CVE-2014-0160"),
    ("OpenSSL", "3.0.6", "3.0.7", "CVE-2022-3602"),
    ("Webmin", "1.920", "1.930", "CVE-2019-15107"),
    ("Jenkins", "2.441", "2.442", "CVE-2024-23897"),
    ("Jenkins", "2.426.2", "2.426.3", "CVE-2024-23897"),
    ("FortiOS", "7.2.4", "7.2.5", "CVE-2023-27997"),
    ("FortiOS", "6.0.4", "6.0.5", "CVE-2018-13379"),
    ("fortiproxy", "1.2.8", "1.2.9", "CVE-2018-13379"),
    ("fortiswitchmanager", "7.2.0", "7.2.1", "CVE-2022-40684"),
    ("FortiOS", "7.2.1", "7.2.2", "CVE-2022-40684"),
    ("FortiOS", "7.4.2", "7.4.3", "CVE-2024-21762"),
    ("Pulse Connect Secure", "9.0r3.3", "9.0r3.4", "CVE-2019-11510"),
    ("Pulse Connect Secure", "9.1r11.3", "9.1r11.4", "CVE-2021-22893"),
    ("Ivanti Connect Secure", "22.7r2.4", "22.7r2.5", "CVE-2025-0282"),
    ("NetScaler", "13.1-49.14", "13.1-49.15", "CVE-2023-4966"),
    ("NetScaler", "13.0-58.31", "13.0-58.32", "CVE-2022-27518"),
    ("application_delivery_controller_firmware", "13.0-47.23", "13.0-47.24", "CVE-2019-19781"),
    ("Zimbra", "9.0.0p23", "9.0.0p24", "CVE-2022-27925"),
    ("Zimbra", "8.8.15", "10.0.0", "CVE-2022-37042"),
]


def test_dataset_size_and_fields() -> None:
    records = load_shipped_records()
    assert len(records) >= 150
    assert len({r.cve_id for r in records}) == len(records)
    for r in records:
        assert r.cvss_v31_vector and r.cvss_v31_score is not None, r.cve_id
        assert r.severity in {"low", "medium", "high", "critical"}, r.cve_id
        assert r.cwes, r.cve_id
        assert f"https://nvd.nist.gov/vuln/detail/{r.cve_id}" in r.references
        assert r.configurations and any(c.vulnerable for c in r.criteria()), r.cve_id
        assert r.description


def test_struts_headline_record() -> None:
    rec = shipped_index().get("CVE-2017-5638")
    assert rec is not None
    assert rec.cvss_v31_score == 9.8 and rec.severity == "critical"
    assert rec.kev is not None and str(rec.kev.date_added) == "2021-11-03"


def test_every_row_is_marked_checked_or_from_memory() -> None:
    rows = read_curated()
    assert {r.check for r in rows} <= {"V", "C", "M"}
    assert sum(r.check == "V" for r in rows) >= 5


@pytest.mark.parametrize(("product", "vulnerable", "fixed", "cve"), GOLDEN)
def test_golden_vulnerable_and_first_fixed(product: str, vulnerable: str, fixed: str, cve: str) -> None:
    idx = shipped_index()
    hits = {m.record.cve_id: m.confidence for m in idx.match_service(vendor=None, product=product,
                                                                     version=vulnerable)}
    assert cve in hits, f"{product} {vulnerable} should match {cve}"
    fixed_hits = {m.record.cve_id for m in idx.match_service(vendor=None, product=product, version=fixed)}
    assert cve not in fixed_hits, f"{product} {fixed} is fixed for {cve}"


def test_every_product_family_has_a_golden_case() -> None:
    families = {c.cpe.product for r in load_shipped_records() for c in r.criteria() if c.vulnerable}
    covered = set()
    idx = shipped_index()
    for _product, _version, _, cve in GOLDEN:
        rec = idx.get(cve)
        assert rec is not None
        covered |= {c.cpe.product for c in rec.criteria() if c.vulnerable}
    missing = families - covered - {"activemq_legacy_openwire_module", "netscaler_gateway", "gateway",
                                    "exchange_server", "zimbra_collaboration_suite"}
    assert not missing, f"no golden case for {sorted(missing)}"


def test_distro_banner_is_potential_and_appliance_firmware_needs_platform() -> None:
    idx = shipped_index()
    ssh = idx.match_service(vendor=None, product="OpenSSH", version="OpenSSH_9.2p1 Debian-2+deb12u3")
    assert ssh and all(m.confidence is Confidence.POTENTIAL for m in ssh)
    firmware = "cpe:2.3:o:citrix:application_delivery_controller_firmware:*:*:*:*:*:*:*:*"
    citrix = idx.match_service(vendor=None, product=None, version="13.0-47.23", cpe=firmware)
    assert [m.confidence for m in citrix if m.record.cve_id == "CVE-2019-19781"] == [Confidence.POTENTIAL]
