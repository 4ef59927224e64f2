"""Target parsing: one IP or CIDR string to the list of addresses it covers."""

from __future__ import annotations

import ipaddress


def expand_targets(target: str, max_hosts: int) -> list[str]:
    """Return the addresses of an IP or CIDR (v4/v6). ValueError on malformed or oversized input.

    Like nmap, every address of a range is listed, network and broadcast included.
    """
    text = (target or "").strip()
    if not text:
        raise ValueError("target is empty")
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
        else:
            return [str(ipaddress.ip_address(text))]
    except ValueError as exc:
        raise ValueError(f"invalid target {target!r}: expected an IP address or CIDR range") from exc
    if net.num_addresses > max_hosts:
        raise ValueError(f"target {target!r} has {net.num_addresses} addresses, more than {max_hosts}")
    if net.num_addresses == 1:
        return [str(net.network_address)]
    return [str(a) for a in net]


def is_public(host: str) -> bool:
    """True for globally routable addresses: decides how severe an exposed port is."""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return False
