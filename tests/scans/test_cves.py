"""CVE findings from detected services: CVSS bands, backport caution, and a matcher that never breaks a scan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cybervault.scanner.models import PortResult, ServiceInfo
from cybervault.scans.cves import cve_findings, load_matcher, severity_for_cvss, vendor_product
from tests.helpers import OrgKeys
from tests.scans.conftest import LoopbackServers, register


@dataclass
class FakeMatch:
    cve_id: str
    cvss_score: float | None
    kev: bool = False
    epss: float | None = None
    confidence: str = "confirmed"
    severity: str | None = None


def test_cvss_bands() -> None:
    assert [severity_for_cvss(s) for s in (0.0, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)] == [
        "low", "low", "medium", "medium", "high", "high", "critical", "critical"]
    assert severity_for_cvss(None, "high") == "high" and severity_for_cvss(None) == "medium"


def test_vendor_and_product_come_from_the_cpe() -> None:
    service = ServiceInfo("http", "nginx", "1.18.0", "cpe:2.3:a:f5:nginx:1.18.0:*:*:*:*:*:*:*")
    assert vendor_product(service) == ("f5", "nginx")
    assert vendor_product(ServiceInfo("http", "nginx", "1.18.0")) == (None, "nginx")


async def test_matches_become_vulnerable_service_findings() -> None:
    seen: dict[str, Any] = {}

    async def matcher(session: Any, **kwargs: Any) -> list[FakeMatch]:
        seen.update(kwargs)
        return [FakeMatch("CVE-2021-41773", 7.5, kev=True, epss=0.94), FakeMatch("CVE-2021-42013", 9.8)]

    port = PortResult("127.0.0.1", 8080, service=ServiceInfo(
        "http", "Apache httpd", "2.4.49", "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"))
    items = await cve_findings(None, port, matcher)  # type: ignore[arg-type]
    assert seen == {"vendor": "apache", "product": "http_server", "version": "2.4.49",
                    "cpe": "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}
    assert [(i.type, i.cve, i.severity, i.kev, i.details) for i in items] == [
        ("vulnerable_service", "CVE-2021-41773", "high", True, "Apache httpd 2.4.49 detected"),
        ("vulnerable_service", "CVE-2021-42013", "critical", False, "Apache httpd 2.4.49 detected")]
    assert items[0].service == {"name": "http", "product": "Apache httpd", "version": "2.4.49",
                                "cpe": "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"}


async def test_distro_banners_are_potential_and_failures_are_ignored() -> None:
    async def matcher(session: Any, **kwargs: Any) -> list[FakeMatch]:
        return [FakeMatch("CVE-2023-38408", 9.8)]

    async def broken(session: Any, **kwargs: Any) -> list[FakeMatch]:
        raise RuntimeError("CVE tables missing")

    service = ServiceInfo("ssh", "OpenSSH", "9.2p1", "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*",
                          extra={"distro": "Debian"})
    port = PortResult("127.0.0.1", 22, service=service)
    assert [i.confidence for i in await cve_findings(None, port, matcher)] == ["potential"]  # type: ignore[arg-type]
    assert await cve_findings(None, port, broken) == []  # type: ignore[arg-type]
    assert await cve_findings(None, port, None) == []  # type: ignore[arg-type]
    versionless = PortResult("127.0.0.1", 22, service=ServiceInfo("ssh", "OpenSSH", None))
    assert await cve_findings(None, versionless, matcher) == []  # type: ignore[arg-type]


async def test_live_scan_cross_references_the_shipped_cve_data(
        org: OrgKeys, loopback: LoopbackServers, scan_ports: list[int]) -> None:
    if load_matcher() is None:
        pytest.skip("the vulnerability module is not installed in this build")

    async def old_apache(reader: Any, writer: Any) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"<html><head><title>It works</title></head></html>"
        writer.write(b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.49 (Unix)\r\nContent-Type: text/html\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    port = await loopback.start(old_apache)
    scan_ports.append(port)
    await register(org.live, "127.0.0.1")
    body = (await org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.1", "wait": 30})).json()
    assert body["status"] == "completed"
    exposed = next(f for f in body["findings"] if f["type"] == "open_port")
    assert exposed["service"]["product"] == "Apache httpd" and exposed["service"]["version"] == "2.4.49"
    cves = {f["cve"]: f for f in body["findings"] if f["type"] == "vulnerable_service"}
    if "CVE-2021-41773" not in cves:
        pytest.skip("the shipped CVE dataset in this build does not cover Apache httpd 2.4.49")
    path_traversal = cves["CVE-2021-41773"]
    assert path_traversal["details"] == "Apache httpd 2.4.49 detected"
    assert path_traversal["severity"] in ("high", "critical") and path_traversal["cvss"] >= 7.0
    assert path_traversal["kev"] is True and path_traversal["port"] == port
