"""AMQP 0-9-1 (RabbitMQ) and MQTT (Mosquitto)."""

from __future__ import annotations

import os
import struct
from typing import Any

from cybervault.scanner.fingerprints import service
from cybervault.scanner.models import ServiceInfo
from cybervault.scanner.probes.base import ProbeContext, connect

AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


def _amqp_table(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    (size,) = struct.unpack_from("!I", data, pos)
    pos += 4
    end = pos + size
    table: dict[str, Any] = {}
    while pos < end:
        klen = data[pos]
        key = data[pos + 1 : pos + 1 + klen].decode("utf-8", "replace")
        pos += 1 + klen
        value, pos = _amqp_value(data, pos)
        table[key] = value
    return table, end


def _amqp_value(data: bytes, pos: int) -> tuple[Any, int]:
    kind = chr(data[pos])
    pos += 1
    if kind == "S":
        (n,) = struct.unpack_from("!I", data, pos)
        return data[pos + 4 : pos + 4 + n].decode("utf-8", "replace"), pos + 4 + n
    if kind == "F":
        return _amqp_table(data, pos)
    if kind == "t":
        return data[pos] != 0, pos + 1
    if kind in "bB":
        return data[pos], pos + 1
    if kind in "sU":
        return struct.unpack_from("!h", data, pos)[0], pos + 2
    if kind in "Iiu":
        return struct.unpack_from("!i", data, pos)[0], pos + 4
    if kind in "lLT":
        return struct.unpack_from("!q", data, pos)[0], pos + 8
    if kind == "f":
        return struct.unpack_from("!f", data, pos)[0], pos + 4
    if kind == "d":
        return struct.unpack_from("!d", data, pos)[0], pos + 8
    if kind == "D":
        return None, pos + 5
    if kind == "V":
        return None, pos
    if kind == "A":
        (n,) = struct.unpack_from("!I", data, pos)
        return None, pos + 4 + n
    if kind == "x":
        (n,) = struct.unpack_from("!I", data, pos)
        return data[pos + 4 : pos + 4 + n], pos + 4 + n
    raise ValueError(f"AMQP field type {kind!r}")


async def probe_amqp(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(AMQP_HEADER)
        head = await conn.read_exact(7, ctx.read_timeout)
        if head is None:
            return None
        if head.startswith(b"AMQP"):  # server wants another protocol version: still AMQP
            return service("amqp", None, None, None, protocol_mismatch=True)
        kind, _channel, size = struct.unpack("!BHI", head)
        if kind != 1 or size > 1 << 20:
            return None
        payload = await conn.read_exact(size + 1, ctx.read_timeout)
    if payload is None or payload[:4] != b"\x00\x0a\x00\x0a":  # class 10 Connection, method 10 Start
        return None
    try:
        props, pos = _amqp_table(payload, 6)
        (mlen,) = struct.unpack_from("!I", payload, pos)
        mechanisms = payload[pos + 4 : pos + 4 + mlen].decode("utf-8", "replace").split()
    except (ValueError, IndexError, struct.error):
        return service("amqp", None, None, None)
    product = props.get("product") if isinstance(props.get("product"), str) else None
    version = props.get("version") if isinstance(props.get("version"), str) else None
    extra = {"amqp_version": f"{payload[4]}-{payload[5]}", "mechanisms": mechanisms}
    if props.get("platform"):
        extra["platform"] = props["platform"]
    return service("amqp", product, version, None, **extra)


def _mqtt_remaining(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _mqtt_connect(client_id: str) -> bytes:
    cid = client_id.encode()
    var = b"\x00\x04MQTT\x04\x02\x00\x0a"  # MQTT 3.1.1, clean session, keepalive 10 s
    payload = struct.pack("!H", len(cid)) + cid
    return b"\x10" + _mqtt_remaining(len(var) + len(payload)) + var + payload


def _mqtt_subscribe(topic: str) -> bytes:
    t = topic.encode()
    body = struct.pack("!H", 1) + struct.pack("!H", len(t)) + t + b"\x00"
    return b"\x82" + _mqtt_remaining(len(body)) + body


async def _mqtt_packet(conn: Any, timeout: float) -> tuple[int, bytes] | None:
    first = await conn.read_exact(1, timeout)
    if first is None:
        return None
    length, shift = 0, 0
    for _ in range(4):
        b = await conn.read_exact(1, timeout)
        if b is None:
            return None
        length += (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            break
    body = await conn.read_exact(length, timeout) if length else b""
    return (first[0], body) if body is not None else None


async def probe_mqtt(ctx: ProbeContext) -> ServiceInfo | None:
    """CONNECT anonymously; if let in, read the broker version from $SYS (Mosquitto publishes it)."""
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(_mqtt_connect(f"cybervault-{os.urandom(4).hex()}"))
        pkt = await _mqtt_packet(conn, ctx.read_timeout)
        if pkt is None or pkt[0] != 0x20 or len(pkt[1]) < 2:
            return None
        code = pkt[1][1]
        if code != 0:
            return service("mqtt", None, None, None, anonymous=False, connack=code)
        await conn.send(_mqtt_subscribe("$SYS/broker/version"))
        version_text = None
        for _ in range(4):
            pkt = await _mqtt_packet(conn, ctx.read_timeout)
            if pkt is None:
                break
            if pkt[0] >> 4 == 3:  # PUBLISH
                body = pkt[1]
                (tlen,) = struct.unpack_from("!H", body, 0)
                qos = (pkt[0] >> 1) & 3
                version_text = body[2 + tlen + (2 if qos else 0) :].decode("utf-8", "replace")
                break
        await conn.send(b"\xe0\x00")  # DISCONNECT
    extra: dict[str, Any] = {"anonymous": True}
    if version_text and version_text.lower().startswith("mosquitto version"):
        return service("mqtt", "Mosquitto", version_text.split()[-1], version_text, **extra)
    return service("mqtt", None, None, version_text, **extra)
