"""A live server for schemathesis that cannot send a packet anywhere but this machine's loopback.

Fuzzed inputs include public IP literals and hostnames (webhook URLs, SMTP hosts, scan targets), so for
this server: name lookups answer nothing, webhook/channel sockets and SMTP refuse to open, and live
scans probe only a listener this fixture owns. The outbound allowlist is the production default (empty).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from cybervault.config import Settings
from tests.helpers import LiveServer


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise OSError("outbound connections are disabled while fuzzing")


async def _no_dns(host: str, port: int) -> list[str]:
    raise OSError(f"no name lookups while fuzzing ({host})")


async def _refuse_async(*_args: Any, **_kwargs: Any) -> Any:
    raise OSError("outbound connections are disabled while fuzzing")


@pytest.fixture
def sealed() -> Iterator[int]:
    """Patch every outbound path; yields the one port live scans may probe."""
    from cybervault.incidents.channels import email
    from cybervault.scanner import ScanOptions
    from cybervault.scans import runner
    from cybervault.webhooks import http as webhook_http
    from cybervault.webhooks import ssrf

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    patches = [
        (ssrf, "resolve_host", _no_dns), (webhook_http, "_open_tcp", _refuse_async),
        (email.smtplib, "SMTP", _refuse), (email.smtplib, "SMTP_SSL", _refuse),
        (runner, "engine_options", lambda depth: ScanOptions(depth=depth, ports=[port], connect_timeout=0.3,
                                                             detect_services=False)),
    ]
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # Backstop for every other lookup (scan targets, SMTP hosts): loopback literals only.
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in ("127.0.0.1", "::1", "localhost") or name.startswith("127."):
            return real_getaddrinfo(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"no name lookups while fuzzing ({name})")

    patches.append((socket, "getaddrinfo", loopback_only_getaddrinfo))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    yield port
    for obj, name, value in saved:
        setattr(obj, name, value)
    listener.close()


@pytest.fixture
def fuzz_server(settings: Settings, app: Any, sealed: int) -> Iterator[LiveServer]:
    server = LiveServer(settings.model_copy(update={"webhook_allowed_networks": []}))
    server.start()
    yield server
    server.stop()
