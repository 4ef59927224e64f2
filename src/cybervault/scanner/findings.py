"""Finding drafts for one port result (CVE findings are the vulnerability matcher's job)."""

from __future__ import annotations

from cybervault.scanner.models import FindingDraft, PortResult, ServiceInfo
from cybervault.scanner.targets import is_public

LEVELS = ("low", "medium", "high", "critical")

# How much an exposed service invites attack: 3 = remote admin or data store often left open,
# 2 = databases, brokers and file transfer, 1 = authenticated remote access and mail, 0 = web.
RISK: dict[str, int] = {
    **dict.fromkeys(
        ("telnet", "redis", "mongodb", "memcached", "elasticsearch", "smb", "microsoft-ds",
         "netbios-ssn", "rdp", "ms-wbt-server", "vnc", "docker", "exec", "login", "shell", "x11"), 3),
    **dict.fromkeys(
        ("mysql", "postgresql", "ftp", "amqp", "mqtt", "nats", "ms-sql-s", "oracle", "ldap", "snmp",
         "rpcbind", "nfs", "msrpc", "kerberos-sec", "tls", "tftp"), 2),
    **dict.fromkeys(("ssh", "smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps", "domain"), 1),
    **dict.fromkeys(("http", "https", "http-proxy", "http-alt", "https-alt"), 0),
}  # fmt: skip
DISPLAY: dict[str, str] = {
    "ssh": "SSH", "http": "HTTP", "https": "HTTPS", "ftp": "FTP", "smtp": "SMTP", "pop3": "POP3",
    "imap": "IMAP", "redis": "Redis", "postgresql": "PostgreSQL", "mysql": "MySQL", "mongodb": "MongoDB",
    "amqp": "AMQP", "mqtt": "MQTT", "nats": "NATS", "memcached": "Memcached",
    "elasticsearch": "Elasticsearch", "telnet": "Telnet", "rdp": "RDP", "smb": "SMB", "tls": "TLS",
}  # fmt: skip
CLEARTEXT = {"telnet": 2, "ftp": 1}  # base severity index of the cleartext finding


def _bump(level: int, public: bool) -> str:
    return LEVELS[min(3, level + (1 if public else 0))]


def service_label(service: ServiceInfo | None) -> str | None:
    if service is None or service.extra.get("method") == "port" and not service.product:
        return None
    return service.product or DISPLAY.get(service.name, service.name)


def findings_for_port(port: PortResult) -> list[FindingDraft]:
    public = is_public(port.host)
    svc = port.service
    name = svc.name if svc else "unknown"
    label = service_label(svc)
    out: list[FindingDraft] = []

    def add(kind: str, severity: str, details: str) -> None:
        out.append(FindingDraft(kind, severity, details, port.host, port.port, port.protocol, svc))

    risk = RISK.get(name, 1)
    if public:
        add("open_port", LEVELS[risk], f"Port {port.port} exposed to public internet")
    else:
        shown = f" ({label})" if label else ""
        add("open_port", LEVELS[max(0, risk - 2)], f"Port {port.port}{shown} open on {port.host}")

    if port.unauthenticated:
        add("unauthenticated_service", "critical" if public else "high",
            f"{label or name} on port {port.port} answers without authentication")  # fmt: skip

    if name in CLEARTEXT:
        add("cleartext_protocol", _bump(CLEARTEXT[name], public),
            f"{DISPLAY[name]} on port {port.port} sends credentials in cleartext")  # fmt: skip

    tls = port.tls
    if tls is not None:
        weak = [v for v in tls.versions if v in ("SSLv3", "TLSv1.0", "TLSv1.1")]
        if weak:
            add("weak_tls", _bump(1, public),
                f"TLS on port {port.port} accepts {', '.join(weak)} (below TLS 1.2)")  # fmt: skip
        problems: list[str] = []
        level = 0
        if tls.expired:
            when = f" on {tls.not_after.date().isoformat()}" if tls.not_after else ""
            problems.append(f"expired{when}")
            level = max(level, 1)
        if tls.self_signed:
            problems.append("is self-signed")
        if tls.hostname_ok is False:
            problems.append(f"does not name {port.host}")
            level = max(level, 1)
        if problems:
            add("certificate_problem", _bump(level, public),
                f"Certificate on port {port.port} {_join(problems)}")  # fmt: skip
    return out


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
