"""Tiny protocol servers the tests start on 127.0.0.1/::1 ephemeral ports.

They stand in only for services that cannot run on this machine (MongoDB, Elasticsearch, RDP, SMB
are not in Debian's archive or need Windows); each speaks enough of the real wire protocol to
answer the scanner's probe the way the real server does.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from cybervault.scanner.probes import bson

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler, host: str = "127.0.0.1") -> AsyncIterator[int]:
    async def wrapped(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            await handler(r, w)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()

    server = await asyncio.start_server(wrapped, host, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


async def http_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await r.readuntil(b"\r\n\r\n")
    body = b"<html><title>Test page</title></html>"
    w.write(b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await w.drain()


async def elasticsearch_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await r.readuntil(b"\r\n\r\n")
    body = json.dumps({"name": "node-1", "cluster_name": "lab", "version": {"number": "8.11.1"},
                       "tagline": "You Know, for Search"}).encode()  # fmt: skip
    w.write(b"HTTP/1.1 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
    await w.drain()


async def memcached_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    if await r.readline() == b"version\r\n":
        w.write(b"VERSION 1.6.18\r\n")
        await w.drain()


async def mongodb_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    answers = {
        "hello": {"isWritablePrimary": True, "maxWireVersion": 21, "ok": 1},
        "buildInfo": {"version": "7.0.5", "ok": 1},
        "listDatabases": {"totalSize": 0, "ok": 1},
    }
    while True:
        head = await r.readexactly(16)
        length, request_id, _, opcode = struct.unpack("<iiii", head)
        body = await r.readexactly(length - 16)
        assert opcode == 2013
        command = next(iter(bson.decode(body[5:])))
        doc = bson.encode(answers[command])
        reply = struct.pack("<I", 0) + b"\x00" + doc
        w.write(struct.pack("<iiii", 16 + len(reply), 99, request_id, 2013) + reply)
        await w.drain()


async def rdp_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await r.readexactly(19)  # X.224 Connection Request
    w.write(bytes.fromhex("030000130ed000001234000202000800020000000"[:38]))
    await w.drain()


async def smb_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    head = await r.readexactly(4)
    await r.readexactly(int.from_bytes(head[1:], "big"))
    msg = b"\xfeSMB" + b"\x40\x00" + b"\x00" * 58
    w.write(b"\x00" + len(msg).to_bytes(3, "big") + msg)
    await w.drain()


async def silent_handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await r.read(1)


def full_backlog_listener() -> tuple[socket.socket, list[socket.socket], int]:
    """A listener whose accept queue is full: further SYNs are dropped, so connects hang (a silent,
    'filtered' port) while the port belongs to this test alone."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    return lst, fillers, port
