"""Redis, PostgreSQL, MongoDB and Memcached."""

from __future__ import annotations

import re
import struct

from cybervault.scanner.fingerprints import printable, service
from cybervault.scanner.models import ServiceInfo
from cybervault.scanner.probes import bson
from cybervault.scanner.probes.base import Conn, ProbeContext, connect


async def probe_redis(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        data = await conn.read_some(ctx.read_timeout)
    text = data.decode("utf-8", "replace")
    if text.startswith("$") and ("redis_version:" in text or "valkey_version:" in text):
        fields = dict(re.findall(r"^(\w+):(.*?)\r?$", text, re.MULTILINE))
        product = "Valkey" if "valkey_version" in fields else "Redis"
        version = fields.get("valkey_version") or fields.get("redis_version")
        extra = {k: fields[k] for k in ("redis_mode", "os", "tcp_port") if k in fields}
        return service("redis", product, version, None, unauthenticated=True, auth_required=False, **extra)
    if text.startswith(("-NOAUTH", "-DENIED", "-ERR operation not permitted", "-WRONGPASS")):
        return service("redis", "Redis", None, printable(data), unauthenticated=False, auth_required=True)
    return None


def _pg_startup(user: str, database: str) -> bytes:
    params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in (
        ("user", user), ("database", database), ("application_name", "cybervault-scanner"),
    )) + b"\0"  # fmt: skip
    body = struct.pack("!I", 196608) + params  # protocol 3.0
    return struct.pack("!I", len(body) + 4) + body


def _pg_messages(data: bytes) -> list[tuple[str, bytes]]:
    out, i = [], 0
    while i + 5 <= len(data):
        kind = chr(data[i])
        (length,) = struct.unpack("!I", data[i + 1 : i + 5])
        out.append((kind, data[i + 5 : i + 1 + length]))
        i += 1 + length
    return out


async def probe_postgres(ctx: ProbeContext) -> ServiceInfo | None:
    """SSLRequest tells PostgreSQL apart (one byte, S or N); a startup as 'postgres' reveals the
    version through ParameterStatus when the server lets that role in without a password."""
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(struct.pack("!II", 8, 80877103))
        answer = await conn.read_exact(1, ctx.read_timeout)
    if answer not in (b"S", b"N"):
        return None
    extra: dict[str, object] = {"ssl": answer == b"S", "auth_required": True, "unauthenticated": False}
    version = None
    async with connect(ctx) as conn:
        if conn is not None:
            await conn.send(_pg_startup("postgres", "postgres"))
            data = await conn.read_some(ctx.read_timeout)
            for kind, body in _pg_messages(data):
                if kind == "R" and len(body) >= 4:
                    code = struct.unpack("!I", body[:4])[0]
                    methods = {0: "trust", 3: "password", 5: "md5", 10: "sasl"}
                    extra["auth_method"] = methods.get(code, str(code))
                    if code == 0:
                        extra.update(auth_required=False, unauthenticated=True)
                elif kind == "S":
                    key, _, rest = body.partition(b"\0")
                    if key == b"server_version":
                        version = rest.split(b"\0")[0].decode()
                elif kind == "E":
                    fields = {chr(f[0]): f[1:].decode("utf-8", "replace") for f in body.split(b"\0") if f}
                    extra["error"] = fields.get("M")
            await conn.send(b"X\x00\x00\x00\x04")  # Terminate
    raw_version = version
    if version:
        extra["server_version"] = raw_version
        m = re.match(r"([\d.]+)(?:\s*\((.*)\))?", version)
        if m:
            version = m.group(1)
            if m.group(2):
                extra["distro_package"] = m.group(2)
                for d in ("Debian", "Ubuntu"):
                    if d in m.group(2):
                        extra["distro"] = d
    return service("postgresql", "PostgreSQL", version, None, **extra)


async def probe_memcached(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(b"version\r\n")
        data = await conn.read_some(ctx.read_timeout)
    m = re.match(rb"VERSION ([\w.\-]+)\r\n", data)
    if not m:
        return None
    return service("memcached", "Memcached", m.group(1).decode(), printable(data), unauthenticated=True)


def _op_msg(request_id: int, doc: dict[str, object]) -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(doc)
    return struct.pack("<iiii", 16 + len(body), request_id, 0, 2013) + body


async def _mongo_command(
    conn: Conn, request_id: int, doc: dict[str, object], timeout: float
) -> dict[str, object] | None:
    await conn.send(_op_msg(request_id, doc))
    head = await conn.read_exact(16, timeout)
    if head is None:
        return None
    length, _, _, opcode = struct.unpack("<iiii", head)
    if opcode != 2013 or not 21 <= length <= 16 * 1024 * 1024:
        return None
    body = await conn.read_exact(length - 16, timeout)
    if body is None or body[4] != 0:
        return None
    try:
        return bson.decode(body[5:])
    except (ValueError, IndexError, struct.error):
        return None


async def probe_mongodb(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        hello = await _mongo_command(conn, 1, {"hello": 1, "$db": "admin"}, ctx.read_timeout)
        if hello is None:
            return None
        build = await _mongo_command(conn, 2, {"buildInfo": 1, "$db": "admin"}, ctx.read_timeout)
        listing = await _mongo_command(conn, 3, {"listDatabases": 1, "nameOnly": True, "$db": "admin"},
                                       ctx.read_timeout)  # fmt: skip
    version = build.get("version") if build else None
    open_ = bool(listing and listing.get("ok") == 1)
    extra = {
        "max_wire_version": hello.get("maxWireVersion"),
        "unauthenticated": open_,
        "auth_required": not open_,
    }
    return service("mongodb", "MongoDB", version if isinstance(version, str) else None, None, **extra)
