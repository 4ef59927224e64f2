"""HTTP(S): Server header, page title, and Elasticsearch's root JSON."""

from __future__ import annotations

import json
import re
import ssl
from typing import Any

from cybervault.scanner.fingerprints import match_http_server, service
from cybervault.scanner.models import ServiceInfo
from cybervault.scanner.probes.base import ProbeContext, connect

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes] | None:
    if not raw.startswith(b"HTTP/"):
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            headers[k.strip().lower()] = v.strip()
    return status, headers, body


def describe(raw: bytes, name: str) -> ServiceInfo | None:
    parsed = parse_response(raw)
    if parsed is None:
        return None
    status, headers, body = parsed
    server = headers.get("server")
    extra: dict[str, Any] = {"status": status}
    es = _elasticsearch(headers, body)
    if es is not None:
        version, unauthenticated = es
        extra.update(server=server, unauthenticated=unauthenticated, auth_required=not unauthenticated)
        return service("elasticsearch", "Elasticsearch", version, server, **extra)
    product, version, more = match_http_server(server)
    extra.update(more)
    m = _TITLE.search(body)
    if m:
        extra["title"] = " ".join(m.group(1).decode("utf-8", "replace").split())[:200]
    if server:
        extra["server"] = server
    return service(name, product, version, server, **extra)


def _elasticsearch(headers: dict[str, str], body: bytes) -> tuple[str | None, bool] | None:
    """(version, answered without credentials) when the server is Elasticsearch."""
    if headers.get("x-elastic-product", "").lower() == "elasticsearch" or b"You Know, for Search" in body:
        try:
            doc = json.loads(body)
        except ValueError:
            return None, False
        version = doc.get("version", {}).get("number") if isinstance(doc, dict) else None
        return version, version is not None
    return None


def request(host: str) -> bytes:
    shown = f"[{host}]" if ":" in host else host
    return (f"GET / HTTP/1.0\r\nHost: {shown}\r\nUser-Agent: cybervault-scanner\r\nAccept: */*\r\n\r\n").encode()


async def probe_http(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(request(ctx.host))
        raw = await conn.read_until_closed(ctx.read_timeout)
    return describe(raw, "http")


async def probe_https(ctx: ProbeContext, tls: ssl.SSLContext) -> ServiceInfo | None:
    async with connect(ctx, tls) as conn:
        if conn is None:
            return None
        await conn.send(request(ctx.host))
        raw = await conn.read_until_closed(ctx.read_timeout)
    info = describe(raw, "https")
    if info and info.name == "elasticsearch":
        info.extra["tls"] = True
    return info
