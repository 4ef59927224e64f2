"""NVD configuration semantics, on hand-built records: what turns a banner into confirmed/potential CVEs."""

from __future__ import annotations

from typing import Any

from cybervault.vulns.matching import Confidence, Target, VulnIndex, match_record
from cybervault.vulns.records import record_from_nvd


def nvd(cve_id: str, *configs: dict[str, Any]) -> Any:
    return record_from_nvd({
        "id": cve_id, "published": "2024-01-01T00:00:00", "lastModified": "2024-01-02T00:00:00",
        "descriptions": [{"lang": "en", "value": cve_id}],
        "metrics": {"cvssMetricV31": [{"type": "Primary", "cvssData": {
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}}]},
        "configurations": list(configs),
    })


def node(*matches: dict[str, Any], operator: str = "OR", negate: bool = False) -> dict[str, Any]:
    return {"operator": operator, "negate": negate, "cpeMatch": list(matches)}


def crit(cpe: str, vulnerable: bool = True, **bounds: str) -> dict[str, Any]:
    return {"vulnerable": vulnerable, "criteria": cpe, **bounds}


def target(product: str, version: str, vendor: str | None = None, cpe: str | None = None) -> Target:
    t = Target.from_service(vendor=vendor, product=product, version=version, cpe=cpe)
    assert t is not None
    return t


SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"


def test_range_bounds_including_and_excluding() -> None:
    rec = nvd("CVE-2000-0001", {"nodes": [node(crit("cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                                              versionStartIncluding="2.4.0", versionEndExcluding="2.4.60"))]})
    assert match_record(rec, target("Apache httpd", "2.4.0")) is Confidence.CONFIRMED
    assert match_record(rec, target("Apache httpd", "2.4.59")) is Confidence.CONFIRMED
    assert match_record(rec, target("Apache httpd", "2.4.60")) is None
    assert match_record(rec, target("Apache httpd", "2.2.34")) is None
    excl = nvd("CVE-2000-0002", {"nodes": [node(crit("cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                                               versionStartExcluding="2.4.0", versionEndIncluding="2.4.59"))]})
    assert match_record(excl, target("Apache httpd", "2.4.0")) is None
    assert match_record(excl, target("Apache httpd", "2.4.59")) is Confidence.CONFIRMED


def test_openssh_update_field_semantics() -> None:
    # NVD's regreSSHion shape: <4.4, 4.4:-, 8.5:p1, >=8.6 <9.8.
    rec = nvd("CVE-2024-6387", {"nodes": [node(
        crit(SSH, versionEndExcluding="4.4"),
        crit("cpe:2.3:a:openbsd:openssh:4.4:-:*:*:*:*:*:*"),
        crit("cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*"),
        crit(SSH, versionStartIncluding="8.6", versionEndExcluding="9.8"),
    )]})
    assert match_record(rec, target("OpenSSH", "4.3p2")) is Confidence.CONFIRMED
    assert match_record(rec, target("OpenSSH", "4.4p1")) is None  # 4.4:- is the bare release only
    assert match_record(rec, target("OpenSSH", "8.4p1")) is None
    assert match_record(rec, target("OpenSSH", "8.5p1")) is Confidence.CONFIRMED
    assert match_record(rec, target("OpenSSH", "9.7p1")) is Confidence.CONFIRMED
    assert match_record(rec, target("OpenSSH", "9.8p1")) is None
    assert match_record(rec, target("OpenSSH", "9.2p1 Debian-2+deb12u3")) is Confidence.POTENTIAL


def test_tomcat_milestones_in_the_update_field_are_pre_releases() -> None:
    # NVD spells Tomcat milestones in the update field (9.0.0:m1); the banner says 9.0.0.M1.
    rec = nvd("CVE-2019-0232", {"nodes": [node(
        crit("cpe:2.3:a:apache:tomcat:9.0.0:m1:*:*:*:*:*:*"),
        crit("cpe:2.3:a:apache:tomcat:9.0.0:m17:*:*:*:*:*:*"),
    )]})
    assert match_record(rec, target("Apache Tomcat", "9.0.0.M1")) is Confidence.CONFIRMED
    assert match_record(rec, target("Apache Tomcat", "9.0.0.M17")) is Confidence.CONFIRMED
    assert match_record(rec, target("Apache Tomcat", "9.0.0.M2")) is None
    assert match_record(rec, target("Apache Tomcat", "9.0.0")) is None  # the release came after them
    assert match_record(rec, target("tomcat", "", cpe="cpe:2.3:a:apache:tomcat:9.0.0:m1:*:*:*:*:*:*")) \
        is Confidence.CONFIRMED


def test_end_including_covers_patch_levels_of_that_release() -> None:
    rec = nvd("CVE-2000-0003", {"nodes": [node(crit(SSH, versionEndIncluding="7.7"))]})
    assert match_record(rec, target("OpenSSH", "7.7p1")) is Confidence.CONFIRMED
    assert match_record(rec, target("OpenSSH", "7.8p1")) is None


def test_platform_and_configuration_is_potential() -> None:
    rec = nvd("CVE-2000-0004", {"operator": "AND", "nodes": [
        node(crit("cpe:2.3:o:acme:fw:*:*:*:*:*:*:*:*", versionEndExcluding="5.0")),
        node(crit("cpe:2.3:h:acme:box:-:*:*:*:*:*:*:*", vulnerable=False)),
    ]})
    assert match_record(rec, target("fw", "4.9", vendor="acme")) is Confidence.POTENTIAL
    assert match_record(rec, target("fw", "5.0", vendor="acme")) is None


def test_negated_node_excludes_a_version() -> None:
    rec = nvd("CVE-2000-0005", {"operator": "AND", "nodes": [
        node(crit("cpe:2.3:a:acme:srv:*:*:*:*:*:*:*:*", versionEndExcluding="3.0")),
        node(crit("cpe:2.3:a:acme:srv:2.5:*:*:*:*:*:*:*"), negate=True),
    ]})
    assert match_record(rec, target("srv", "2.4", vendor="acme")) is Confidence.CONFIRMED
    assert match_record(rec, target("srv", "2.5", vendor="acme")) is None


def test_configurations_about_other_products_are_ignored() -> None:
    rec = nvd("CVE-2000-0006",
              {"nodes": [node(crit("cpe:2.3:a:apache:struts:*:*:*:*:*:*:*:*", versionEndExcluding="2.5.10.1"))]},
              {"nodes": [node(crit("cpe:2.3:a:hp:server_automation:9.1.0:*:*:*:*:*:*:*"))]})
    assert match_record(rec, target("Apache Struts", "2.5.10")) is Confidence.CONFIRMED
    assert match_record(rec, target("Apache Struts", "2.5.10.1")) is None
    assert match_record(rec, target("server_automation", "9.1.0", vendor="hp")) is Confidence.CONFIRMED


def test_vendor_aliases_and_cpe_targets() -> None:
    rec = nvd("CVE-2000-0007", {"nodes": [node(crit("cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*",
                                              versionStartIncluding="0.6.18", versionEndExcluding="1.20.1"))]})
    # nmap names nginx's vendor igor_sysoev; NVD says f5.
    assert match_record(rec, target("", "", cpe="cpe:/a:igor_sysoev:nginx:1.18.0")) is Confidence.CONFIRMED
    assert match_record(rec, target("nginx", "1.20.1")) is None
    assert match_record(rec, target("nginx", "1.18.0", vendor="microsoft")) is None


def test_exact_versions_and_unparseable_targets() -> None:
    rec = nvd("CVE-2000-0008", {"nodes": [node(crit("cpe:2.3:a:vsftpd_project:vsftpd:2.3.4:*:*:*:*:*:*:*"))]})
    assert match_record(rec, target("vsftpd", "2.3.4")) is Confidence.CONFIRMED
    assert match_record(rec, target("vsftpd", "2.3.5")) is None
    assert Target.from_service(vendor=None, product="vsftpd", version="unknown") is None
    assert Target.from_service(vendor=None, product=None, version="1.0") is None


def test_index_returns_highest_score_first_and_replaces_records() -> None:
    a = nvd("CVE-2020-0001", {"nodes": [node(crit("cpe:2.3:a:acme:srv:*:*:*:*:*:*:*:*"))]})
    idx = VulnIndex([a])
    assert [m.record.cve_id for m in idx.match(target("srv", "1.0", vendor="acme"))] == ["CVE-2020-0001"]
    newer = nvd("CVE-2020-0001", {"nodes": [node(crit("cpe:2.3:a:acme:other:*:*:*:*:*:*:*:*"))]})
    idx.add(newer)
    assert len(idx) == 1
    assert idx.match(target("srv", "1.0", vendor="acme")) == []
