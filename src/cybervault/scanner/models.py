"""Plain data the engine takes and yields. No database or web types: the scans service maps these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Depth = Literal["quick", "standard", "deep"]


@dataclass
class ScanOptions:
    depth: Depth = "standard"  # quick=top100, standard=top1000, deep=all 65535
    ports: list[int] | None = None  # explicit override of the depth's port set
    connect_timeout: float = 1.0  # initial; adapted per host from measured round trips
    concurrency: int = 2000  # bounded window of in-flight connects
    detect_services: bool = True
    max_hosts: int = 65536


@dataclass
class ServiceInfo:
    name: str
    product: str | None = None
    version: str | None = None
    cpe: str | None = None  # CPE 2.3 with NVD vendor:product names
    banner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TlsInfo:
    versions: list[str]
    subject: str | None
    issuer: str | None
    not_after: datetime | None
    self_signed: bool
    expired: bool
    hostname_ok: bool | None


@dataclass
class PortResult:
    host: str
    port: int
    protocol: str = "tcp"
    service: ServiceInfo | None = None
    tls: TlsInfo | None = None
    unauthenticated: bool = False


@dataclass
class HostResult:
    host: str
    alive: bool
    ports: list[PortResult]


@dataclass
class Progress:
    hosts_total: int
    hosts_done: int
    ports_total: int
    ports_done: int
    percent: float


@dataclass
class FindingDraft:
    type: str  # open_port | unauthenticated_service | cleartext_protocol | weak_tls | certificate_problem
    severity: str  # low | medium | high | critical
    details: str
    host: str
    port: int | None
    protocol: str
    service: ServiceInfo | None
    cve: str | None = None
