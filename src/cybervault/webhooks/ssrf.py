"""SSRF guard for URLs the server will call (webhook endpoints, notification channels).

A URL is refused if it is not plain http(s), carries credentials, or resolves to any address that is
not publicly routable (loopback, private, link-local, shared, multicast, reserved, unspecified) or is
a cloud metadata address — unless the operator allowed that network
(CYBERVAULT_WEBHOOK_ALLOWED_NETWORKS). Metadata addresses are refused even then.

`check_url` runs at creation and before each delivery; http.py re-checks the address actually
connected to, which defeats DNS rebinding between our lookup and the client's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from functools import lru_cache
from urllib.parse import SplitResult, urlsplit

from cybervault.kit.errors import UnsafeUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048

# Instance metadata services; some are publicly routable addresses (Azure), so list them explicitly.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.253", "fd00:ec2::254", "100.100.100.200",
    "168.63.129.16", "192.0.0.192",
))


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to. Tests replace this function to stub DNS."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@lru_cache(maxsize=64)
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def _unmapped(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_problem(address: str | IPAddress, allowed_networks: list[str] | tuple[str, ...]) -> str | None:
    """Why this address may not be called, or None if it may."""
    return _address_problem(str(address), tuple(allowed_networks))


@lru_cache(maxsize=1024)
def _address_problem(address: str, allowed_networks: tuple[str, ...]) -> str | None:
    """Pure in its arguments, and asked before every delivery: cached."""
    ip = _unmapped(ipaddress.ip_address(address))
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if any(ip in net for net in _networks(tuple(allowed_networks)) if net.version == ip.version):
        return None
    for label, flag in (("a loopback address", ip.is_loopback), ("an unspecified address", ip.is_unspecified),
                        ("a link-local address", ip.is_link_local), ("a multicast address", ip.is_multicast),
                        ("a private address", ip.is_private), ("a reserved address", ip.is_reserved)):
        if flag:
            return label
    if not ip.is_global:
        return "a non-public address"
    return None


def parse_url(url: str) -> SplitResult:
    """Shape checks that need no DNS: scheme, host, no credentials."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL must be 1 to {MAX_URL_LENGTH} characters.", param="url")
    return _parse_url(url)


@lru_cache(maxsize=1024)
def _parse_url(url: str) -> SplitResult:
    """Pure in the URL, and asked before every delivery: cached (a refused URL raises each time)."""
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeUrl("The URL must not contain whitespace or control characters.", param="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"The URL is malformed: {exc}.", param="url") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http:// and https:// URLs are allowed.", param="url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("URLs must not contain credentials (user:password@).", param="url")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.", param="url")
    if port == 0:
        raise UnsafeUrl("The URL's port is invalid.", param="url")
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


async def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass  # a name, not a literal
    try:
        addresses = await resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The URL's host '{host}' could not be resolved ({exc}).", param="url") from None
    if not addresses:
        raise UnsafeUrl(f"The URL's host '{host}' has no addresses.", param="url")
    return addresses


async def check_url(url: str, allowed_networks: list[str]) -> None:
    """Raise UnsafeUrl (400 unsafe_url, param "url") unless every address `url` resolves to may be called."""
    parts = parse_url(url)
    host = parts.hostname or ""
    addresses = await _addresses(host, default_port(parts))
    for address in addresses:
        problem = address_problem(address, allowed_networks)
        if problem:
            where = host if host == address else f"{host} ({address})"
            raise UnsafeUrl(f"The URL's host {where} is {problem}, which webhooks may not call.", param="url")
