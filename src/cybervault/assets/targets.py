"""Parsing what users call a target: one IP address, a CIDR range or an RFC 1123 hostname."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ParsedTarget:
    text: str  # normalized form, stored and compared
    kind: Literal["ip", "cidr", "hostname"]
    network: Network | None  # None for hostnames

    @property
    def num_addresses(self) -> int:
        return self.network.num_addresses if self.network is not None else 1


def is_hostname(value: str) -> bool:
    name = value.lower().removesuffix(".")
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    # An all-numeric last label would make "10.0.0.999" a hostname; RFC 1123 §2.1 rules it out.
    if labels[-1].isdigit():
        return False
    return all(_LABEL.match(label) for label in labels)


def parse_target(value: str) -> ParsedTarget:
    """Normalize `value`; ValueError with a user-facing message when it is none of the three forms."""
    text = (value or "").strip()
    if not text:
        raise ValueError("must be an IP address, a CIDR range or a hostname; got an empty value")
    if len(text) > 255:
        raise ValueError("is longer than 255 characters")
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"'{text}' is not a valid CIDR range (like 10.0.0.0/24)") from None
        if network.num_addresses == 1:
            return ParsedTarget(str(network.network_address), "ip", network)
        return ParsedTarget(str(network), "cidr", network)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return ParsedTarget(str(address), "ip", ipaddress.ip_network(address))
    if ":" not in text and is_hostname(text):
        return ParsedTarget(text.lower().removesuffix("."), "hostname", None)
    raise ValueError(f"'{text}' is not a valid IP address, CIDR range or hostname")
