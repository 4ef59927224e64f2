"""Service and version detection for one open port.

Unlike nmap's NULL probe (up to 6 s of silence before anything else is tried), the banner wait is
short and adaptive, and protocol probes run concurrently on their own connections: first those the
port number suggests, then, if nothing has answered, the generic set. The first hard match wins.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from cybervault.scanner import tls as tlsmod
from cybervault.scanner.fingerprints import match_banner, printable, service
from cybervault.scanner.models import PortResult, ScanOptions, ServiceInfo
from cybervault.scanner.ports import port_name
from cybervault.scanner.probes.base import ProbeContext, connect
from cybervault.scanner.probes.datastores import probe_memcached, probe_mongodb, probe_postgres, probe_redis
from cybervault.scanner.probes.http import probe_http, probe_https
from cybervault.scanner.probes.messaging import probe_amqp, probe_mqtt
from cybervault.scanner.probes.windows import probe_rdp, probe_smb

ProbeFn = Callable[[ProbeContext, dict[str, Any]], Awaitable[ServiceInfo | None]]


async def _banner(ctx: ProbeContext, state: dict[str, Any]) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        # Services that speak first do so within a few round trips; do not wait seconds for the rest.
        wait = min(2.0, max(0.3, conn.rtt * 10))
        data = await conn.read_some(wait, 4096)
    state["banner"] = data
    return match_banner(data, ctx.port)


async def _tls(ctx: ProbeContext, state: dict[str, Any]) -> ServiceInfo | None:
    version, der = await tlsmod.handshake(ctx)
    if version is None:
        return None
    state["tls_der"] = der
    inner = await probe_https(ctx, tlsmod.client_context())
    if inner is not None:
        inner.extra.setdefault("tls_version", version)
        return inner
    name = port_name(ctx.port)
    return service(name if name != "unknown" else "tls", None, None, None, tls_version=version)


def _plain(fn: Callable[[ProbeContext], Awaitable[ServiceInfo | None]]) -> ProbeFn:
    async def run(ctx: ProbeContext, _state: dict[str, Any]) -> ServiceInfo | None:
        return await fn(ctx)

    return run


PROBES: dict[str, ProbeFn] = {
    "banner": _banner,
    "http": _plain(probe_http),
    "tls": _tls,
    "redis": _plain(probe_redis),
    "postgres": _plain(probe_postgres),
    "amqp": _plain(probe_amqp),
    "mqtt": _plain(probe_mqtt),
    "memcached": _plain(probe_memcached),
    "mongodb": _plain(probe_mongodb),
    "rdp": _plain(probe_rdp),
    "smb": _plain(probe_smb),
}
GENERIC_ORDER = [n for n in PROBES if n != "banner"]  # tie-break order
_HTTP_PORTS = (80, 81, 591, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888, 9000, 9200)
HINTS: dict[int, list[str]] = {p: ["http"] for p in _HTTP_PORTS}
HINTS.update({p: ["tls"] for p in (443, 465, 636, 853, 990, 993, 995, 4443, 5986, 8443, 9443)})
HINTS.update({
    6379: ["redis"], 5432: ["postgres"], 5672: ["amqp"], 1883: ["mqtt"], 11211: ["memcached"],
    27017: ["mongodb"], 3389: ["rdp"], 445: ["smb"], 139: ["smb"],
})  # fmt: skip


async def _first_answer(tasks: dict[asyncio.Task[ServiceInfo | None], str], order: list[str]) -> ServiceInfo | None:
    """The first probe to recognise the service wins (ties go to the earlier name in ``order``)."""
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in sorted(done, key=lambda t: order.index(tasks[t])):
                res = None if t.cancelled() or t.exception() else t.result()
                if res is not None:
                    return res
        return None
    finally:
        for t in pending:
            t.cancel()
        for t in pending:
            with contextlib.suppress(BaseException):
                await t


def _start(names: list[str], ctx: ProbeContext, state: dict[str, Any]) -> dict[asyncio.Task[ServiceInfo | None], str]:
    return {asyncio.ensure_future(PROBES[n](ctx, state)): n for n in names}


async def identify(ctx: ProbeContext, state: dict[str, Any]) -> ServiceInfo | None:
    if ctx.depth == "quick":  # banner where offered, nothing more
        return await _banner(ctx, state)
    # Phase one: the banner and the probes the port number suggests, side by side.
    hinted = HINTS.get(ctx.port, [])
    first = ["banner", *hinted]
    found = await _first_answer(_start(first, ctx, state), first)
    if found is not None:
        return found
    raw = state.get("banner", b"")
    if raw:  # it spoke, in a language we do not know: do not throw binary probes at it
        return service(port_name(ctx.port), None, None, printable(raw), method="banner")
    # Phase two: everything else at once.
    rest = [n for n in GENERIC_ORDER if n not in hinted]
    return await _first_answer(_start(rest, ctx, state), rest)


async def detect_port(host: str, port: int, options: ScanOptions) -> PortResult:
    """Fingerprint one open port according to the scan depth."""
    result = PortResult(host=host, port=port)
    ctx = ProbeContext(host, port, options.depth, connect_timeout=max(1.0, options.connect_timeout))
    state: dict[str, Any] = {}
    info = await identify(ctx, state)
    if info is None:
        info = service(port_name(port), None, None, None, method="port")
    result.service = info
    if options.depth == "deep":
        result.unauthenticated = bool(info.extra.get("unauthenticated"))
        der = state.get("tls_der")
        if der is None and port in HINTS and HINTS[port] == ["tls"]:
            _, der = await tlsmod.handshake(ctx)
        if der:
            versions = await tlsmod.accepted_versions(ctx)
            result.tls = tlsmod.describe(der, versions, host)
    return result
