"""The scanning engine: a library with no database or web imports.

Targets and options in, an async stream of per-host results out; ``findings_for_port`` turns a port
result into finding drafts (CVE findings come from the vulnerability matcher, not from here).
"""

from cybervault.scanner.engine import expand_targets, run_scan
from cybervault.scanner.findings import findings_for_port
from cybervault.scanner.models import (
    FindingDraft,
    HostResult,
    PortResult,
    Progress,
    ScanOptions,
    ServiceInfo,
    TlsInfo,
)

__all__ = [
    "FindingDraft",
    "HostResult",
    "PortResult",
    "Progress",
    "ScanOptions",
    "ServiceInfo",
    "TlsInfo",
    "expand_targets",
    "findings_for_port",
    "run_scan",
]
