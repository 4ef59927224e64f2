"""Which ports a scan sweeps."""

from __future__ import annotations

from cybervault.scanner.models import ScanOptions
from cybervault.scanner.top_ports import PORT_NAMES, TOP_100_TCP, TOP_1000_TCP

ALL_TCP: tuple[int, ...] = tuple(range(1, 65536))
# Unprivileged host discovery: any answer, SYN-ACK or RST, on one of these means the host is up.
DISCOVERY_PORTS: tuple[int, ...] = (80, 443, 22, 445, 3389, 8080)


def ports_for(options: ScanOptions) -> list[int]:
    if options.ports:
        ports = sorted(set(options.ports))
        if ports[0] < 1 or ports[-1] > 65535:
            raise ValueError("ports must be between 1 and 65535")
        return ports
    if options.depth == "quick":
        return list(TOP_100_TCP)
    if options.depth == "standard":
        return list(TOP_1000_TCP)
    if options.depth == "deep":
        return list(ALL_TCP)
    raise ValueError(f"unknown depth {options.depth!r}")


def parse_port_spec(spec: str) -> list[int]:
    """'22,80,1-1024' -> sorted unique ports; ValueError on anything else."""
    ports: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            start, end = int(lo), int(hi) if sep else int(lo)
        except ValueError as exc:
            raise ValueError(f"bad port spec {part!r}") from exc
        if not 1 <= start <= end <= 65535:
            raise ValueError(f"bad port range {part!r}: ports are 1-65535")
        ports.update(range(start, end + 1))
    if not ports:
        raise ValueError("no ports given")
    return sorted(ports)


# Names for well-known service ports, overriding nmap-services where its name is dated or missing
# (its 9200 is "wap-wsp"; 6379 and 4222 are outside its top 1000).
WELL_KNOWN: dict[int, str] = {
    21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 80: "http", 110: "pop3", 139: "smb", 143: "imap",
    443: "https", 445: "smb", 587: "smtp", 993: "imaps", 995: "pop3s", 1883: "mqtt", 3306: "mysql",
    3389: "rdp", 4222: "nats", 5432: "postgresql", 5672: "amqp", 5900: "vnc", 6379: "redis",
    8080: "http", 8443: "https", 8883: "mqtt", 9200: "elasticsearch", 11211: "memcached", 27017: "mongodb",
}  # fmt: skip


def port_name(port: int) -> str:
    """The conventional service name of a port: a guess, used only when nothing answered a probe."""
    return WELL_KNOWN.get(port) or PORT_NAMES.get(port, "unknown")
