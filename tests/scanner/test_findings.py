"""Finding drafts: severity from service risk and exposure, and sentences a user can act on."""

from __future__ import annotations

from datetime import UTC, datetime

from cybervault.scanner import PortResult, ServiceInfo, TlsInfo, findings_for_port


def svc(name: str, product: str | None = None, version: str | None = None) -> ServiceInfo:
    return ServiceInfo(name, product, version, None, None, {})


def kinds(port: PortResult) -> dict[str, tuple[str, str]]:
    return {f.type: (f.severity, f.details) for f in findings_for_port(port)}


def test_public_ssh_matches_the_published_example() -> None:
    # Pure function: no packet is sent to the documentation address.
    assert kinds(PortResult("1.1.1.1", 22, service=svc("ssh", "OpenSSH"))) == {
        "open_port": ("medium", "Port 22 exposed to public internet")
    }


def test_exposure_raises_severity() -> None:
    private = kinds(PortResult("10.0.0.5", 6379, service=svc("redis", "Redis")))["open_port"]
    public = kinds(PortResult("8.8.8.8", 6379, service=svc("redis", "Redis")))["open_port"]
    assert private == ("medium", "Port 6379 (Redis) open on 10.0.0.5")
    assert public == ("critical", "Port 6379 exposed to public internet")
    assert kinds(PortResult("127.0.0.1", 80, service=svc("http")))["open_port"] == (
        "low", "Port 80 (HTTP) open on 127.0.0.1")  # fmt: skip


def test_unauthenticated_and_cleartext() -> None:
    found = kinds(PortResult("127.0.0.1", 27017, service=svc("mongodb", "MongoDB", "7.0.5"), unauthenticated=True))
    assert found["unauthenticated_service"] == ("high", "MongoDB on port 27017 answers without authentication")
    telnet = kinds(PortResult("8.8.4.4", 23, service=svc("telnet")))
    assert telnet["cleartext_protocol"] == ("critical", "Telnet on port 23 sends credentials in cleartext")
    assert "cleartext_protocol" not in kinds(PortResult("127.0.0.1", 22, service=svc("ssh")))


def test_tls_problems() -> None:
    tls = TlsInfo(["TLSv1.0", "TLSv1.2"], "CN=a", "CN=a", datetime(2021, 1, 1, tzinfo=UTC), True, True, False)
    found = kinds(PortResult("127.0.0.1", 443, service=svc("https"), tls=tls))
    assert found["weak_tls"] == ("medium", "TLS on port 443 accepts TLSv1.0 (below TLS 1.2)")
    assert found["certificate_problem"] == (
        "medium",
        "Certificate on port 443 expired on 2021-01-01, is self-signed and does not name 127.0.0.1",
    )
    good = TlsInfo(["TLSv1.2", "TLSv1.3"], "CN=a", "CN=ca", datetime(2099, 1, 1, tzinfo=UTC), False, False, None)
    assert set(kinds(PortResult("127.0.0.1", 443, service=svc("https"), tls=good))) == {"open_port"}
