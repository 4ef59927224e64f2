"""The delivery HTTP client against real local servers: TLS, keep-alive, chunked answers, timeouts."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cybervault.webhooks import http as webhook_http
from cybervault.webhooks.http import post_json
from tests.conftest import base_settings
from tests.webhooks.receiver import Receiver

SETTINGS = base_settings()


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_https_delivery_verifies_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    async with Receiver(tls=server_tls) as server:
        untrusted = await post_json(server.url, b"{}", {}, SETTINGS)
        assert not untrusted.ok and "certificate verify failed" in (untrusted.error or "")
        assert server.requests == []

        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(webhook_http, "_tls_context", lambda: trusting)
        await webhook_http.close_connections()
        result = await post_json(server.url, b'{"a":1}', {"webhook-id": "evt_tls"}, SETTINGS)
        assert result.ok and result.status_code == 200 and result.response_excerpt == "ok"
        assert server.requests[0].body == b'{"a":1}' and server.requests[0].headers["webhook-id"] == "evt_tls"


async def test_connections_are_reused() -> None:
    async with Receiver() as server:
        await webhook_http.close_connections()
        for _ in range(3):
            assert (await post_json(server.url, b"{}", {}, SETTINGS)).ok
        assert len(server.requests) == 3 and server.connections == 1


async def _raw_server(answer: bytes, *, hold: float = 0.0) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length")))
        await reader.readexactly(length)
        if hold:
            await asyncio.sleep(hold)  # a receiver that never answers in time
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_chunked_answer_and_capped_excerpt() -> None:
    big = b"x" * 5000
    chunked = (b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
               + f"{len(big):x}\r\n".encode() + big + b"\r\n0\r\n\r\n")
    server, port = await _raw_server(chunked)
    async with server:
        result = await post_json(f"http://127.0.0.1:{port}/", b"{}", {}, SETTINGS)
    assert not result.ok and result.status_code == 500 and result.error == "HTTP 500"
    assert result.response_excerpt == "x" * 1024


async def test_total_timeout_is_enforced() -> None:
    server, port = await _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", hold=5)
    async with server:
        settings = base_settings(webhook_timeout_seconds=0.3)
        result = await post_json(f"http://127.0.0.1:{port}/", b"{}", {}, settings)
    assert not result.ok and result.status_code is None and "timed out after 0.3s" in (result.error or "")
    assert result.latency_ms < 3000


async def test_connection_refused_is_a_failed_attempt() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result = await post_json(f"http://127.0.0.1:{port}/", b"{}", {}, SETTINGS)
    assert not result.ok and result.status_code is None and result.error
