"""The machine's own databases and brokers, each probed on its well-known port only."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from cybervault.scanner import ScanOptions, run_scan

IN_CI = os.environ.get("CI", "").lower() == "true"


def debian_version(package: str) -> str | None:
    """Upstream version of an installed Debian package (epoch and revision stripped)."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.split(":")[-1].split("-")[0].split("+")[0] or None if out.returncode == 0 else None


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


CASES = [
    # port, service name, product, Debian package carrying the version, CPE vendor:product
    (5432, "postgresql", "PostgreSQL", "postgresql-15", "postgresql:postgresql"),
    (6379, "redis", "Redis", "redis-server", "redis:redis"),
    (3306, "mysql", "MariaDB", "mariadb-server", "mariadb:mariadb"),
    (5672, "amqp", "RabbitMQ", "rabbitmq-server", "vmware:rabbitmq"),
    (1883, "mqtt", "Mosquitto", "mosquitto", "eclipse:mosquitto"),
    (4222, "nats", "NATS Server", "nats-server", "linuxfoundation:nats-server"),
]


@pytest.mark.parametrize(("port", "name", "product", "package", "cpe"), CASES, ids=[c[1] for c in CASES])
async def test_identifies_local_service(port: int, name: str, product: str, package: str, cpe: str) -> None:
    if not listening(port):
        if IN_CI:
            pytest.fail(f"{product} is not listening on 127.0.0.1:{port}")
        pytest.skip(f"{product} is not listening on 127.0.0.1:{port}")
    hosts = [h async for h in run_scan(["127.0.0.1"], ScanOptions(depth="standard", ports=[port]))]
    assert len(hosts) == 1 and len(hosts[0].ports) == 1
    svc = hosts[0].ports[0].service
    assert svc is not None
    assert (svc.name, svc.product) == (name, product)
    expected = debian_version(package)
    assert svc.version is not None
    if expected:  # the Debian package says which version is installed: ours must match it
        assert svc.version == expected, (svc.version, expected)
    assert svc.cpe == f"cpe:2.3:a:{cpe}:{svc.version}:*:*:*:*:*:*:*"
