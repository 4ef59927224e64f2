"""Turn what a service said (a greeting, an HTTP Server header) into product, version and CPE."""

from __future__ import annotations

import json
import re
from typing import Any

from cybervault.scanner.cpe import cpe_for
from cybervault.scanner.models import ServiceInfo

_DISTROS = ("Debian", "Ubuntu", "Raspbian", "FreeBSD", "Red Hat", "CentOS", "Fedora", "Alpine", "SUSE")


def service(name: str, product: str | None = None, version: str | None = None,
            banner: str | None = None, **extra: Any) -> ServiceInfo:  # fmt: skip
    return ServiceInfo(name, product, version, cpe_for(product, version), banner, dict(extra))


def printable(data: bytes, limit: int = 200) -> str:
    text = data[:limit].decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c in "\r\n\t" else "." for c in text).strip()


def _distro(text: str) -> dict[str, str]:
    for d in _DISTROS:
        if d.lower() in text.lower():
            return {"distro": d}
    return {}


# --- SSH -------------------------------------------------------------------------------------
_SSH = re.compile(r"^SSH-(?P<proto>[\d.]+)-(?P<soft>\S+)(?:[ \t]+(?P<comment>[^\r\n]*))?")


def match_ssh(text: str) -> ServiceInfo | None:
    m = _SSH.match(text)
    if not m:
        return None
    soft, comment = m.group("soft"), (m.group("comment") or "").strip()
    banner = text.splitlines()[0]
    extra: dict[str, Any] = {"protocol": m.group("proto")}
    if comment:
        extra["comment"] = comment
        extra.update(_distro(comment))
        dm = re.match(r"(?:Debian|Ubuntu|Raspbian)-(\S+)", comment)
        if dm:
            extra["distro_package"] = dm.group(1)
    for pattern, product in (
        (r"OpenSSH_for_Windows_([\w.]+)", "OpenSSH"),
        (r"OpenSSH_([\w.]+)", "OpenSSH"),
        (r"dropbear_([\w.]+)", "Dropbear"),
        (r"libssh[_-]([\w.]+)", "libssh"),
    ):
        sm = re.match(pattern, soft)
        if sm:
            return service("ssh", product, sm.group(1), banner, **extra)
    return service("ssh", None, None, banner, software=soft, **extra)


# --- FTP / SMTP / POP3 / IMAP greetings ---------------------------------------------------------
_FTP_PRODUCTS = (
    (r"vsFTPd ([\w.]+)", "vsftpd"),
    (r"ProFTPD ([\w.]+)", "ProFTPD"),
    (r"Pure-FTPd", "Pure-FTPd"),
    (r"FileZilla Server(?: version)? ([\w.]+)", "FileZilla Server"),
)
_SMTP_PRODUCTS = (
    (r"ESMTP Exim ([\w.]+)", "Exim"),
    (r"ESMTP Postfix", "Postfix"),
    (r"Sendmail ([\w.]+)", "Sendmail"),
    (r"OpenSMTPD", "OpenSMTPD"),
    (r"Microsoft ESMTP MAIL Service", "Microsoft Exchange"),
)
_MAIL_PRODUCTS = (
    (r"Dovecot", "Dovecot"),
    (r"Cyrus IMAP v?([\w.]+)", "Cyrus IMAP"),
    (r"Courier", "Courier"),
)


def _first(patterns: tuple[tuple[str, str], ...], text: str) -> tuple[str | None, str | None]:
    for pattern, product in patterns:
        m = re.search(pattern, text)
        if m:
            return product, (m.group(1) if m.groups() else None)
    return None, None


def match_greeting(text: str, port: int) -> ServiceInfo | None:
    line = text.splitlines()[0] if text else ""
    extra = _distro(line)
    if text.startswith("220"):
        product, version = _first(_FTP_PRODUCTS, text)
        if product or "FTP" in line.upper() or (port in (21, 2121, 990) and "SMTP" not in line.upper()):
            return service("ftp", product, version, line, **extra)
        product, version = _first(_SMTP_PRODUCTS, text)
        return service("smtp", product, version, line, **extra)
    if text.startswith("+OK"):
        product, version = _first(_MAIL_PRODUCTS, text)
        return service("pop3", product, version, line, **extra)
    if text.startswith("* OK") or text.startswith("* PREAUTH"):
        product, version = _first(_MAIL_PRODUCTS, text)
        return service("imap", product, version, line, **extra)
    return None


# --- NATS, Memcached, MySQL ---------------------------------------------------------------------
def match_nats(text: str) -> ServiceInfo | None:
    if not text.startswith("INFO {"):
        return None
    try:
        info = json.loads(text[5:].splitlines()[0])
    except ValueError:
        return None
    extra = {k: info[k] for k in ("server_name", "go", "auth_required", "tls_required") if k in info}
    return service("nats", "NATS Server", info.get("version"), text.splitlines()[0][:200], **extra)


def match_mysql(data: bytes) -> ServiceInfo | None:
    """The MySQL/MariaDB handshake: 3-byte length, seq 0, protocol 10, NUL-terminated version."""
    if len(data) < 6 or data[3] != 0:
        return None
    length = int.from_bytes(data[:3], "little")
    if data[4] == 0xFF and length < 1024:  # error packet: e.g. "Host '...' is not allowed to connect"
        msg = printable(data[7:], 200)
        if "MySQL" in msg or "MariaDB" in msg or "allowed to connect" in msg:
            return service("mysql", "MySQL" if "MariaDB" not in msg else "MariaDB", None, msg, refused=True)
        return None
    if data[4] != 10 or length > 1024:
        return None
    end = data.find(b"\x00", 5)
    if end < 0:
        return None
    raw = data[5:end].decode("ascii", "replace")
    extra: dict[str, Any] = {"server_version": raw}
    if "MariaDB" in raw:
        m = re.match(r"(?:5\.5\.5-)?([\d.]+)-MariaDB(?:-(\S+))?", raw)
        version = m.group(1) if m else None
        if m and m.group(2):
            extra["distro_package"] = m.group(2)
            extra.update(_distro_from_package(m.group(2)))
        return service("mysql", "MariaDB", version, raw, **extra)
    m = re.match(r"([\d.]+)", raw)
    product = "Percona Server" if "percona" in raw.lower() else "MySQL"
    return service("mysql", product, m.group(1) if m else None, raw, **extra)


def _distro_from_package(pkg: str) -> dict[str, str]:
    if "deb" in pkg:
        return {"distro": "Debian"}
    if "ubuntu" in pkg:
        return {"distro": "Ubuntu"}
    return {}


def match_banner(data: bytes, port: int) -> ServiceInfo | None:
    """Everything a service volunteers before we speak."""
    if not data:
        return None
    if data[0] == 0xFF and len(data) >= 3 and data[1] in (0xFB, 0xFC, 0xFD, 0xFE):
        return service("telnet", None, None, printable(data), negotiation=True)
    mysql = match_mysql(data)
    if mysql:
        return mysql
    text = data.decode("utf-8", "replace")
    for matcher in (match_ssh, match_nats):
        found = matcher(text)
        if found:
            return found
    return match_greeting(text, port)


# --- HTTP --------------------------------------------------------------------------------------
_HTTP_SERVERS = (
    (r"nginx(?:/([\w.]+))?", "nginx"),
    (r"openresty(?:/([\w.]+))?", "OpenResty"),
    (r"Apache-Coyote(?:/[\w.]+)?", "Apache Tomcat"),
    (r"Apache(?:/([\d.]+))?", "Apache httpd"),
    (r"lighttpd(?:/([\w.]+))?", "lighttpd"),
    (r"Microsoft-IIS(?:/([\w.]+))?", "Microsoft IIS"),
    (r"Caddy", "Caddy"),
    (r"Jetty\(([\w.\-]+)\)", "Jetty"),
    (r"gunicorn(?:/([\w.]+))?", "Gunicorn"),
    (r"uvicorn", "Uvicorn"),
    (r"Werkzeug(?:/([\w.]+))?", "Werkzeug"),
    (r"envoy", "Envoy"),
)


def match_http_server(server: str | None) -> tuple[str | None, str | None, dict[str, Any]]:
    """Product, version and extras from a Server header value."""
    if not server:
        return None, None, {}
    extra: dict[str, Any] = _distro(server)
    m = re.search(r"SimpleHTTP/[\d.]+ Python/([\d.]+)", server) or re.search(r"BaseHTTP/[\d.]+ Python/([\d.]+)", server)
    if m:
        return "Python http.server", m.group(1), extra
    for pattern, product in _HTTP_SERVERS:
        m = re.match(pattern, server, re.IGNORECASE)
        if m:
            return product, (m.group(1) if m.groups() else None), extra
    return None, None, extra
