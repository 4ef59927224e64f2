"""Simulated scans for test-mode (cv_test_) keys: deterministic, instant, and never a packet.

Nothing here opens a socket or resolves a name. Fixed targets give fixed answers (documented in
docs/sandbox.md); every other target gets results derived from a SHA-256 of the target and depth,
so the same request always returns the same findings.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from cybervault.assets.targets import ParsedTarget
from cybervault.scanner.findings import findings_for_port
from cybervault.scanner.models import PortResult, ServiceInfo, TlsInfo
from cybervault.scans.cves import draft_to_input, service_dict, severity_for_cvss
from cybervault.scans.results import FindingInput

SEED_TARGET = "192.168.1.0/24"
CLEAN_NETWORK = ipaddress.ip_network("198.51.100.0/24")
FAILING_TARGET = "203.0.113.13"
PORTS_PER_DEPTH = {"quick": 100, "standard": 1000, "deep": 65535}


@dataclass(frozen=True)
class SimCve:
    cve: str
    cvss: float
    kev: bool
    epss: float


@dataclass(frozen=True)
class SimService:
    port: int
    name: str
    product: str
    version: str
    cpe: str
    cves: tuple[SimCve, ...] = ()
    unauthenticated: bool = False
    expired_cert: bool = False


def _cpe(vendor: str, product: str, version: str) -> str:
    return f"cpe:2.3:a:{vendor}:{product}:{version}:*:*:*:*:*:*:*"


# The seed's example, verbatim: SSH on 22 and Apache Struts 2.5.10 (CVE-2017-5638, CVSS 10.0, in KEV).
SEED_SSH = SimService(22, "ssh", "OpenSSH", "8.9p1", "cpe:2.3:a:openbsd:openssh:8.9:p1:*:*:*:*:*:*")
SEED_STRUTS = SimService(8080, "http", "Apache Struts", "2.5.10", _cpe("apache", "struts", "2.5.10"),
                         (SimCve("CVE-2017-5638", 10.0, True, 0.975),))

# What seeded targets draw from: common services, some with well-known CVEs of their versions.
CATALOGUE: tuple[SimService, ...] = (
    SimService(22, "ssh", "OpenSSH", "7.4", _cpe("openbsd", "openssh", "7.4"),
               (SimCve("CVE-2018-15473", 5.3, False, 0.0),)),
    SimService(80, "http", "Apache httpd", "2.4.49", _cpe("apache", "http_server", "2.4.49"),
               (SimCve("CVE-2021-41773", 7.5, True, 0.944),)),
    SimService(80, "http", "nginx", "1.24.0", _cpe("f5", "nginx", "1.24.0")),
    SimService(443, "https", "nginx", "1.18.0", _cpe("f5", "nginx", "1.18.0"),
               (SimCve("CVE-2021-23017", 7.7, False, 0.02),), expired_cert=True),
    SimService(21, "ftp", "vsftpd", "2.3.4", _cpe("vsftpd_project", "vsftpd", "2.3.4"),
               (SimCve("CVE-2011-2523", 9.8, False, 0.7),)),
    SimService(23, "telnet", "BusyBox telnetd", "1.30.1", _cpe("busybox", "busybox", "1.30.1")),
    SimService(6379, "redis", "Redis", "6.0.5", _cpe("redis", "redis", "6.0.5"), unauthenticated=True),
    SimService(3306, "mysql", "MySQL", "5.7.30", _cpe("oracle", "mysql", "5.7.30")),
    SimService(5432, "postgresql", "PostgreSQL", "15.4", _cpe("postgresql", "postgresql", "15.4")),
    SimService(3389, "rdp", "Microsoft Terminal Services", "10.0", _cpe("microsoft", "remote_desktop_services", "-")),
)  # fmt: skip


@dataclass
class SandboxResult:
    status: str  # completed | failed
    findings: list[FindingInput] = field(default_factory=list)
    error: str | None = None
    hosts_total: int = 1
    ports_total: int = 0


def _progress_counts(target: ParsedTarget, depth: str) -> tuple[int, int]:
    hosts = min(target.num_addresses, 65536)
    return hosts, hosts * PORTS_PER_DEPTH.get(depth, 1000)


def _port_findings(host: str, svc: SimService, include_vulns: bool, *, public_text: bool = False) -> list[FindingInput]:
    service = ServiceInfo(name=svc.name, product=svc.product, version=svc.version, cpe=svc.cpe)
    tls = None
    if svc.expired_cert:
        tls = TlsInfo(versions=["TLSv1.2", "TLSv1.3"], subject=f"CN={host}", issuer=f"CN={host}", not_after=None,
                      self_signed=True, expired=True, hostname_ok=True)
    port = PortResult(host=host, port=svc.port, service=service, tls=tls, unauthenticated=svc.unauthenticated)
    out = [draft_to_input(d) for d in findings_for_port(port)]
    if public_text:
        out = [i for i in out if i.type != "open_port"]
        out.insert(0, FindingInput("open_port", "medium", f"Port {svc.port} exposed to public internet", host,
                                   svc.port, service=service_dict(service)))
    if include_vulns:
        for c in svc.cves:
            out.append(FindingInput(
                "vulnerable_service", severity_for_cvss(c.cvss), f"{svc.product} {svc.version} detected", host,
                svc.port, cve=c.cve, service=service_dict(service), cvss=c.cvss, kev=c.kev, epss=c.epss,
            ))
    return out


def _seed_example(include_vulns: bool) -> list[FindingInput]:
    ssh = _port_findings("192.168.1.10", SEED_SSH, False, public_text=True)[:1]
    struts = [f for f in _port_findings("192.168.1.24", SEED_STRUTS, include_vulns) if f.type == "vulnerable_service"]
    return ssh + struts


def _hosts(target: ParsedTarget, digest: bytes) -> list[str]:
    if target.network is None:
        return [target.text]
    net = target.network
    if net.num_addresses == 1:
        return [str(net.network_address)]
    count = 1 + digest[1] % 3
    usable = max(1, net.num_addresses - 2)  # skip network and broadcast where there are such
    picks: dict[str, None] = {}
    for i in range(count):
        offset = 1 + int.from_bytes(digest[2 + 4 * i: 6 + 4 * i], "big") % usable
        picks.setdefault(str(net.network_address + min(offset, net.num_addresses - 1)), None)
    return sorted(picks, key=lambda h: ipaddress.ip_address(h))


def simulate(target: ParsedTarget, depth: str, include_vulns: bool) -> SandboxResult:
    hosts_total, ports_total = _progress_counts(target, depth)
    result = SandboxResult("completed", hosts_total=hosts_total, ports_total=ports_total)
    if target.text == FAILING_TARGET:
        result.status = "failed"
        result.error = (f"Host {FAILING_TARGET} did not respond to any probe; the scan could not complete "
                        "(sandbox: this target always fails).")
        return result
    if target.text == SEED_TARGET:
        result.findings = _seed_example(include_vulns)
        return result
    if target.network is not None and target.network.version == 4 and target.network.subnet_of(CLEAN_NETWORK):
        return result  # the documented clean range
    digest = hashlib.sha256(f"{target.text}|{depth}".encode()).digest()
    if digest[0] % 5 == 0:
        return result  # about one seeded target in five is clean
    per_host = {"quick": 1, "standard": 2, "deep": 3}.get(depth, 2)
    for h_index, host in enumerate(_hosts(target, digest)):
        for s_index in range(per_host):
            svc = CATALOGUE[digest[(10 + h_index * 3 + s_index) % len(digest)] % len(CATALOGUE)]
            if any(f.port == svc.port and f.host == host for f in result.findings):
                continue
            result.findings.extend(_port_findings(host, svc, include_vulns))
    return result
