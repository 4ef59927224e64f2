"""CPE 2.3 names with NVD's vendor:product spelling (which often differs from nmap's)."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"([^A-Za-z0-9._\-])")

# product -> (NVD vendor, NVD product)
NVD_NAMES: dict[str, tuple[str, str]] = {
    "OpenSSH": ("openbsd", "openssh"),
    "Dropbear": ("dropbear_ssh_project", "dropbear_ssh"),
    "libssh": ("libssh", "libssh"),
    "nginx": ("f5", "nginx"),
    "Apache httpd": ("apache", "http_server"),
    "Apache Tomcat": ("apache", "tomcat"),
    "lighttpd": ("lighttpd", "lighttpd"),
    "Microsoft IIS": ("microsoft", "internet_information_services"),
    "OpenResty": ("openresty", "openresty"),
    "Caddy": ("caddyserver", "caddy"),
    "Jetty": ("eclipse", "jetty"),
    "Gunicorn": ("gunicorn", "gunicorn"),
    "Uvicorn": ("encode", "uvicorn"),
    "Werkzeug": ("palletsprojects", "werkzeug"),
    "Python http.server": ("python", "python"),
    "Envoy": ("envoyproxy", "envoy"),
    "vsftpd": ("beasts", "vsftpd"),
    "ProFTPD": ("proftpd", "proftpd"),
    "Pure-FTPd": ("pureftpd", "pure-ftpd"),
    "FileZilla Server": ("filezilla-project", "filezilla_server"),
    "Postfix": ("postfix", "postfix"),
    "Exim": ("exim", "exim"),
    "Sendmail": ("sendmail", "sendmail"),
    "OpenSMTPD": ("openbsd", "opensmtpd"),
    "Microsoft Exchange": ("microsoft", "exchange_server"),
    "Dovecot": ("dovecot", "dovecot"),
    "Cyrus IMAP": ("cmu", "cyrus_imap_server"),
    "Courier": ("courier-mta", "courier-imap"),
    "Redis": ("redis", "redis"),
    "Valkey": ("lfprojects", "valkey"),
    "PostgreSQL": ("postgresql", "postgresql"),
    "MySQL": ("oracle", "mysql"),
    "MariaDB": ("mariadb", "mariadb"),
    "Percona Server": ("percona", "percona_server"),
    "MongoDB": ("mongodb", "mongodb"),
    "RabbitMQ": ("vmware", "rabbitmq"),
    "Mosquitto": ("eclipse", "mosquitto"),
    "NATS Server": ("linuxfoundation", "nats-server"),
    "Memcached": ("memcached", "memcached"),
    "Elasticsearch": ("elastic", "elasticsearch"),
    "Apache Struts": ("apache", "struts"),
}


def _escape(value: str) -> str:
    return _UNSAFE.sub(r"\\\1", value)


def cpe_for(product: str | None, version: str | None) -> str | None:
    """``cpe:2.3:a:vendor:product:version:update:*...``; OpenSSH's ``9.2p1`` becomes 9.2 + update p1."""
    if not product or product not in NVD_NAMES:
        return None
    vendor, name = NVD_NAMES[product]
    ver, update = (version or "*"), "*"
    if product == "OpenSSH" and version:
        m = re.fullmatch(r"([\d.]+)(p\d+)?", version)
        if m:
            ver, update = m.group(1), m.group(2) or "*"
    ver = "*" if ver == "*" else _escape(ver)
    return f"cpe:2.3:a:{vendor}:{name}:{ver}:{update}:*:*:*:*:*:*"
