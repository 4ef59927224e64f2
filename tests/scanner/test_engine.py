"""The engine on this machine's loopback, against servers the tests start (and nothing else)."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from cybervault.scanner import Progress, ScanOptions, expand_targets, run_scan
from cybervault.scanner.detect import detect_port
from tests.scanner import servers


async def scan_one(host: str, port: int, depth: str = "standard"):  # noqa: ANN201
    results = [h async for h in run_scan([host], ScanOptions(depth=depth, ports=[port]))]  # type: ignore[arg-type]
    assert len(results) == 1 and [p.port for p in results[0].ports] == [port]
    return results[0].ports[0]


def test_expand_targets() -> None:
    assert expand_targets("127.0.0.1", 10) == ["127.0.0.1"]
    assert expand_targets(" 10.0.0.0/30 ", 10) == ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert expand_targets("::1", 10) == ["::1"]
    assert expand_targets("fd00::/126", 10) == ["fd00::", "fd00::1", "fd00::2", "fd00::3"]
    assert len(expand_targets("10.1.0.0/16", 65536)) == 65536
    for bad in ("", "999.1.1.1", "10.0.0.0/33", "example..com", "1.2.3.4/8/1", "127.0.0.1; rm -rf /"):
        with pytest.raises(ValueError):
            expand_targets(bad, 65536)
    with pytest.raises(ValueError, match="more than"):
        expand_targets("10.0.0.0/8", 65536)


async def test_bad_targets_fail_before_any_packet() -> None:
    with pytest.raises(ValueError):
        [h async for h in run_scan(["not-an-ip"], ScanOptions(ports=[1]))]
    with pytest.raises(ValueError):
        [h async for h in run_scan(["127.0.0.1"], ScanOptions(ports=[70000]))]


async def test_http_detection_and_progress() -> None:
    seen: list[Progress] = []
    async with servers.serve(servers.http_handler) as port:
        results = [h async for h in run_scan(["127.0.0.1"], ScanOptions(ports=[port]), on_progress=seen.append)]
    svc = results[0].ports[0].service
    assert svc is not None
    assert (svc.name, svc.product, svc.version, svc.cpe) == (
        "http", "nginx", "1.22.1", "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*")  # fmt: skip
    assert svc.extra["title"] == "Test page"
    assert seen[-1].percent == 100.0 and seen[-1].ports_done == seen[-1].ports_total == 1
    assert seen[-1].hosts_done == seen[-1].hosts_total == 1


async def test_ipv6_loopback() -> None:
    async with servers.serve(servers.http_handler, host="::1") as port:
        found = await scan_one("::1", port)
    assert found.host == "::1" and found.service is not None and found.service.product == "nginx"


@pytest.mark.parametrize(
    ("handler", "name", "product", "version", "unauthenticated"),
    [
        (servers.elasticsearch_handler, "elasticsearch", "Elasticsearch", "8.11.1", True),
        (servers.memcached_handler, "memcached", "Memcached", "1.6.18", True),
        (servers.mongodb_handler, "mongodb", "MongoDB", "7.0.5", True),
        (servers.rdp_handler, "rdp", None, None, False),
        (servers.smb_handler, "smb", None, None, False),
    ],
)
async def test_protocol_probes_on_unusual_ports(
    handler: servers.Handler, name: str, product: str | None, version: str | None, unauthenticated: bool
) -> None:
    """Off their usual ports, services are found by the generic probe round; deep scans flag open
    access only for those that answered without credentials."""
    async with servers.serve(handler) as port:
        found = await scan_one("127.0.0.1", port, depth="deep")
    assert found.service is not None
    assert (found.service.name, found.service.product, found.service.version) == (name, product, version)
    assert found.unauthenticated is unauthenticated


async def test_silent_port_is_named_by_port_and_quick() -> None:
    async with servers.serve(servers.silent_handler) as port:
        t0 = time.monotonic()
        found = await detect_port("127.0.0.1", port, ScanOptions(depth="quick"))
        assert time.monotonic() - t0 < 1.5  # no 6 s NULL-probe wait
    assert found.service is not None and found.service.product is None
    assert found.service.extra == {"method": "port"}


async def test_filtered_port_is_not_open_and_host_not_alive() -> None:
    lst, fillers, port = servers.full_backlog_listener()
    try:
        opts = ScanOptions(ports=[port], connect_timeout=0.2)
        results = [h async for h in run_scan(["127.0.0.1"], opts)]
    finally:
        for s in (*fillers, lst):
            s.close()
    assert results == []  # every probed port silent: not reported as a live host


async def test_cancel_during_sweep_returns_within_a_second() -> None:
    lst, fillers, port = servers.full_backlog_listener()
    cancel = asyncio.Event()
    try:
        opts = ScanOptions(ports=[port], connect_timeout=10.0)
        asyncio.get_running_loop().call_later(0.3, cancel.set)
        t0 = time.monotonic()
        results = [h async for h in run_scan(["127.0.0.1"], opts, cancel=cancel)]
        elapsed = time.monotonic() - t0
    finally:
        for s in (*fillers, lst):
            s.close()
    assert results == [] and elapsed < 1.3


def test_closed_loopback_port_is_not_open() -> None:
    from cybervault.scanner.sweep import sweep

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]  # bound, not listening: connects are refused
    try:
        result = sweep([("127.0.0.1", [port])], timeout=0.5)[0]
    finally:
        s.close()
    assert result.open_ports == [] and result.responded is True


async def test_cancel_during_fingerprinting_returns_within_a_second() -> None:
    """A silent service keeps the generic probes waiting for seconds; cancel cuts that short."""
    cancel = asyncio.Event()
    async with servers.serve(servers.silent_handler) as port:
        asyncio.get_running_loop().call_later(0.2, cancel.set)
        t0 = time.monotonic()
        results = [h async for h in run_scan(["127.0.0.1"], ScanOptions(ports=[port]), cancel=cancel)]
        elapsed = time.monotonic() - t0
    assert results == [] and elapsed < 1.2
