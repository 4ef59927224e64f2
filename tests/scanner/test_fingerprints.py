"""What banners and headers become: product, version, distro and NVD-style CPE names."""

from __future__ import annotations

import pytest

from cybervault.scanner.fingerprints import match_banner, match_http_server, match_mysql
from cybervault.scanner.ports import parse_port_spec, port_name
from cybervault.scanner.top_ports import TOP_100_TCP, TOP_1000_TCP


@pytest.mark.parametrize(
    ("banner", "product", "version", "cpe", "distro"),
    [
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "OpenSSH", "9.2p1",
         "cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*", "Debian"),
        (b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n", "OpenSSH", "8.9p1",
         "cpe:2.3:a:openbsd:openssh:8.9:p1:*:*:*:*:*:*", "Ubuntu"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "OpenSSH", "9.6", "cpe:2.3:a:openbsd:openssh:9.6:*:*:*:*:*:*:*", None),
        (b"SSH-2.0-dropbear_2022.83\r\n", "Dropbear", "2022.83",
         "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.83:*:*:*:*:*:*:*", None),
    ],
)  # fmt: skip
def test_ssh_banners(banner: bytes, product: str, version: str, cpe: str, distro: str | None) -> None:
    info = match_banner(banner, 22)
    assert info is not None
    assert (info.name, info.product, info.version, info.cpe) == ("ssh", product, version, cpe)
    assert info.extra.get("distro") == distro


@pytest.mark.parametrize(
    ("banner", "port", "name", "product", "version"),
    [
        (b"220 (vsFTPd 3.0.3)\r\n", 21, "ftp", "vsftpd", "3.0.3"),
        (b"220 ProFTPD 1.3.5 Server (Debian) [::ffff:10.0.0.1]\r\n", 21, "ftp", "ProFTPD", "1.3.5"),
        (b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n", 25, "smtp", "Postfix", None),
        (b"220 mx.example.org ESMTP Exim 4.96 Mon, 01 Jan 2024\r\n", 25, "smtp", "Exim", "4.96"),
        (b"+OK Dovecot (Debian) ready.\r\n", 110, "pop3", "Dovecot", None),
        (b"* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot (Ubuntu) ready.\r\n", 143, "imap", "Dovecot", None),
        (b"\xff\xfd\x18\xff\xfd\x20\r\nlogin: ", 23, "telnet", None, None),
    ],
)  # fmt: skip
def test_greetings(banner: bytes, port: int, name: str, product: str | None, version: str | None) -> None:
    info = match_banner(banner, port)
    assert info is not None
    assert (info.name, info.product, info.version) == (name, product, version)


def test_nats_info_line() -> None:
    info = match_banner(b'INFO {"server_id":"X","version":"2.10.7","go":"go1.21","max_payload":1048576}\r\n', 4222)
    assert info is not None
    assert (info.product, info.version) == ("NATS Server", "2.10.7")
    assert info.cpe == "cpe:2.3:a:linuxfoundation:nats-server:2.10.7:*:*:*:*:*:*:*"


def _handshake(version: bytes) -> bytes:
    body = b"\x0a" + version + b"\x00" + b"\x01\x00\x00\x00" + b"abcdefgh\x00" + b"\xff\xf7"
    return len(body).to_bytes(3, "little") + b"\x00" + body


def test_mysql_and_mariadb_handshakes() -> None:
    maria = match_mysql(_handshake(b"5.5.5-10.11.6-MariaDB-0+deb12u1"))
    assert maria is not None
    assert (maria.product, maria.version, maria.cpe) == (
        "MariaDB", "10.11.6", "cpe:2.3:a:mariadb:mariadb:10.11.6:*:*:*:*:*:*:*")  # fmt: skip
    assert maria.extra["distro"] == "Debian"
    mysql = match_mysql(_handshake(b"8.0.36"))
    assert mysql is not None
    assert (mysql.product, mysql.version, mysql.cpe) == (
        "MySQL",
        "8.0.36",
        "cpe:2.3:a:oracle:mysql:8.0.36:*:*:*:*:*:*:*",
    )
    assert match_mysql(b"HTTP/1.1 400 Bad Request\r\n") is None


@pytest.mark.parametrize(
    ("server", "product", "version"),
    [
        ("nginx/1.22.1", "nginx", "1.22.1"),
        ("Apache/2.4.57 (Debian)", "Apache httpd", "2.4.57"),
        ("Microsoft-IIS/10.0", "Microsoft IIS", "10.0"),
        ("SimpleHTTP/0.6 Python/3.11.7", "Python http.server", "3.11.7"),
        ("lighttpd/1.4.69", "lighttpd", "1.4.69"),
        ("cloudflare", None, None),
    ],
)
def test_http_server_headers(server: str, product: str | None, version: str | None) -> None:
    assert match_http_server(server)[:2] == (product, version)


def test_nginx_cpe_uses_nvd_vendor() -> None:
    from cybervault.scanner.cpe import cpe_for

    assert cpe_for("nginx", "1.22.1") == "cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*"
    assert cpe_for("RabbitMQ", "3.12.1") == "cpe:2.3:a:vmware:rabbitmq:3.12.1:*:*:*:*:*:*:*"
    assert cpe_for("Apache httpd", "2.4.49") == "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"
    assert cpe_for("Mosquitto", None) == "cpe:2.3:a:eclipse:mosquitto:*:*:*:*:*:*:*:*"
    assert cpe_for("Some Unknown Daemon", "1.0") is None


def test_port_sets_follow_open_frequency() -> None:
    assert TOP_100_TCP[:5] == (80, 23, 443, 21, 22)  # nmap-services' most frequently open ports
    assert len(TOP_100_TCP) == 100 and len(set(TOP_1000_TCP)) == 1000
    assert set(TOP_100_TCP) <= set(TOP_1000_TCP) and 5432 in TOP_1000_TCP
    assert port_name(6379) == "redis" and port_name(22) == "ssh"


def test_port_spec() -> None:
    assert parse_port_spec("22,80,1-3") == [1, 2, 3, 22, 80]
    for bad in ("0", "70000", "a-b", "5-1", ""):
        with pytest.raises(ValueError):
            parse_port_spec(bad)
