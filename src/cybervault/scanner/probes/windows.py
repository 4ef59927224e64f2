"""RDP and SMB presence: both answer a negotiation request with a recognisable header."""

from __future__ import annotations

import struct

from cybervault.scanner.fingerprints import service
from cybervault.scanner.models import ServiceInfo
from cybervault.scanner.probes.base import ProbeContext, connect


async def probe_rdp(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(bytes.fromhex("030000130ee000000000000100080003000000"))
        data = await conn.read_some(ctx.read_timeout)
    # TPKT v3 header with an X.224 Connection Confirm (0xd0).
    if len(data) >= 11 and data[0] == 3 and data[1] == 0 and data[5] == 0xD0:
        extra = {}
        if len(data) >= 19 and data[11] == 0x02:
            extra["selected_protocol"] = struct.unpack_from("<I", data, 15)[0]
        return service("rdp", None, None, None, **extra)
    return None


def _smb1_negotiate() -> bytes:
    dialects = b"".join(b"\x02" + d + b"\x00" for d in (b"NT LM 0.12", b"SMB 2.002", b"SMB 2.???"))
    header = b"\xffSMB" + b"\x72" + b"\x00" * 4 + b"\x18" + b"\x01\x48" + b"\x00" * 12 + b"\xff\xff"
    header += b"\x00\x00" + b"\x00\x00" + b"\x00\x00"
    body = b"\x00" + struct.pack("<H", len(dialects)) + dialects
    msg = header + body
    return b"\x00" + len(msg).to_bytes(3, "big") + msg


async def probe_smb(ctx: ProbeContext) -> ServiceInfo | None:
    async with connect(ctx) as conn:
        if conn is None:
            return None
        await conn.send(_smb1_negotiate())
        data = await conn.read_some(ctx.read_timeout)
    if len(data) >= 8 and data[0] == 0 and data[4:8] in (b"\xfeSMB", b"\xffSMB"):
        return service("smb", None, None, None, smb2=data[4:8] == b"\xfeSMB")
    return None
