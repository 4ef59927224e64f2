"""The scope guard: what a live scan may touch.

Every address a live scan would reach must lie inside the operator's allowed networks AND inside one
of the org's registered assets. Test (sandbox) keys never send packets, so they skip the network
checks but get the same syntax and size errors as live keys.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.assets.models import Asset
from cybervault.assets.repository import AssetRepository
from cybervault.assets.targets import Network, ParsedTarget, parse_target
from cybervault.config import Settings
from cybervault.kit.auth import Principal
from cybervault.kit.errors import InvalidTarget, TargetOutOfScope, TargetTooLarge

Resolver = Callable[[str], Awaitable[list[str]]]
RESOLVE_TIMEOUT = 3.0
MAX_HOSTNAME_ASSETS_RESOLVED = 50  # bounds the DNS work one scan request can cause


@dataclass
class ScanScope:
    target: ParsedTarget
    engine_targets: list[str]  # IPs and CIDRs handed to the engine (empty for sandbox scans)
    asset_ids: list[str] = field(default_factory=list)  # assets that cover the target


async def resolve_hostname(name: str, timeout: float = RESOLVE_TIMEOUT) -> list[str]:
    """getaddrinfo in the default thread pool, bounded by `timeout`; [] when it does not resolve."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(name, None, type=socket.SOCK_STREAM), timeout=timeout)
    except (OSError, TimeoutError, UnicodeError):
        return []
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(ipaddress.ip_address(str(sockaddr[0]).split("%")[0])), None)
    return list(seen)


def parse_scan_target(value: str, settings: Settings, param: str = "target_ip") -> ParsedTarget:
    try:
        target = parse_target(value)
    except ValueError as exc:
        raise InvalidTarget(f"Invalid '{param}': {exc}.", param=param) from None
    if target.network is not None:
        limit = settings.scan_max_prefix_v4 if target.network.version == 4 else settings.scan_max_prefix_v6
        if target.network.prefixlen < limit:
            raise TargetTooLarge(
                f"'{target.text}' covers {target.network.num_addresses} addresses; the largest range "
                f"this server scans is a /{limit}.", param=param)
    return target


def _inside(network: Network, container: Network) -> bool:
    return network.version == container.version and network.subnet_of(container)  # type: ignore[arg-type]


async def _hostname_asset_addresses(assets: list[Asset], resolver: Resolver) -> dict[str, set[str]]:
    names = [a for a in assets if a.kind == "hostname"][:MAX_HOSTNAME_ASSETS_RESOLVED]
    results = await asyncio.gather(*(resolver(a.target) for a in names))
    return {asset.id: set(addresses) for asset, addresses in zip(names, results, strict=True)}


async def check_scan_target(
    session: AsyncSession, principal: Principal, value: str, settings: Settings, *,
    param: str = "target_ip", resolver: Resolver = resolve_hostname,
) -> ScanScope:
    target = parse_scan_target(value, settings, param)
    if not principal.livemode:
        return ScanScope(target, [])

    if target.network is not None:
        networks: list[Network] = [target.network]
    else:
        addresses = await resolver(target.text)
        if not addresses:
            raise InvalidTarget(f"Invalid '{param}': the hostname '{target.text}' does not resolve.", param=param)
        networks = [ipaddress.ip_network(a) for a in addresses]

    allowed = [ipaddress.ip_network(n, strict=False) for n in settings.scan_allowed_networks]
    for network in networks:
        if not any(_inside(network, a) for a in allowed):
            shown = network.network_address if network.num_addresses == 1 else network
            via = f" ('{target.text}' resolves to it)" if target.kind == "hostname" else ""
            raise TargetOutOfScope(
                f"{shown}{via} is outside the networks this server may scan "
                "(CYBERVAULT_SCAN_ALLOWED_NETWORKS).", param=param)

    assets = await AssetRepository(session, principal).all()
    covering: list[str] = []
    same_name = [a.id for a in assets if a.kind == "hostname" and a.target == target.text]
    pending = [] if same_name else list(networks)
    covering.extend(same_name)
    still: list[Network] = []
    for network in pending:
        hit = next((a for a in assets if a.kind != "hostname" and _inside(network, _asset_network(a))), None)
        if hit is None:
            still.append(network)
        elif hit.id not in covering:
            covering.append(hit.id)
    if still:
        resolved = await _hostname_asset_addresses(assets, resolver)
        for network in still:
            hit_id = next((aid for aid, addrs in resolved.items()
                           if network.num_addresses == 1 and str(network.network_address) in addrs), None)
            if hit_id is None:
                shown = network.network_address if network.num_addresses == 1 else network
                raise TargetOutOfScope(
                    f"{shown} is not inside any asset registered for this organization. Register it with "
                    "POST /v1/assets before scanning it.", param=param)
            if hit_id not in covering:
                covering.append(hit_id)
    return ScanScope(target, [str(n.network_address) if n.num_addresses == 1 else str(n) for n in networks],
                     covering)


def _asset_network(asset: Asset) -> Network:
    return ipaddress.ip_network(asset.target, strict=False)
