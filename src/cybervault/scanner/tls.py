"""TLS: does the port speak it, which protocol versions it accepts, and what its certificate says."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import UTC, datetime

from cybervault.scanner.models import TlsInfo
from cybervault.scanner.probes.base import ProbeContext, connect
from cybervault.scanner.x509 import Certificate, parse_certificate

VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1.0": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def client_context(version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A context that completes handshakes with anything: we are inspecting, not trusting."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # allow legacy suites so old protocol versions can be seen
    except ssl.SSLError:
        pass
    if version is not None:
        try:
            ctx.minimum_version = version
            ctx.maximum_version = version
        except (ValueError, ssl.SSLError):
            pass
    else:
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        except (ValueError, ssl.SSLError):
            pass
    return ctx


async def handshake(ctx: ProbeContext) -> tuple[str | None, bytes | None]:
    """(negotiated version, peer certificate DER) or (None, None) when TLS does not complete."""
    async with connect(ctx, client_context()) as conn:
        if conn is None:
            return None, None
        sslobj = conn.writer.get_extra_info("ssl_object")
        if sslobj is None:
            return None, None
        return sslobj.version(), sslobj.getpeercert(binary_form=True)


async def accepted_versions(ctx: ProbeContext) -> list[str]:
    async def attempt(name: str, version: ssl.TLSVersion) -> str | None:
        async with connect(ctx, client_context(version)) as conn:
            if conn is None:
                return None
            sslobj = conn.writer.get_extra_info("ssl_object")
            return name if sslobj is not None and sslobj.version() else None

    found = await asyncio.gather(*(attempt(n, v) for n, v in VERSIONS.items()))
    return [v for v in found if v]


def _hostname_ok(cert: Certificate, host: str) -> bool | None:
    """Whether the certificate names the address we reached. None when it names no address at all,
    as for almost every certificate reached by IP: then we cannot judge."""
    try:
        addr = str(ipaddress.ip_address(host))
    except ValueError:
        names = cert.dns_names or ([cert.subject_cn] if cert.subject_cn else [])
        return any(_dns_match(n, host) for n in names)
    if cert.ip_addresses:
        return addr in cert.ip_addresses
    if cert.subject_cn:
        try:
            return str(ipaddress.ip_address(cert.subject_cn)) == addr
        except ValueError:
            pass
    return None


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.count(".") == pattern.count(".") and host.endswith(pattern[1:])
    return pattern == host


def describe(der: bytes, versions: list[str], host: str, now: datetime | None = None) -> TlsInfo:
    now = now or datetime.now(UTC)
    try:
        cert: Certificate | None = parse_certificate(der)
    except (IndexError, ValueError):
        cert = None
    if cert is None:
        return TlsInfo(versions, None, None, None, False, False, None)
    return TlsInfo(
        versions=versions,
        subject=cert.subject,
        issuer=cert.issuer,
        not_after=cert.not_after,
        self_signed=cert.raw_subject == cert.raw_issuer,
        expired=bool(cert.not_after and cert.not_after < now),
        hostname_ok=_hostname_ok(cert, host),
    )
