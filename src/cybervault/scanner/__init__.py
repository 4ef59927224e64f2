"""The scanning engine: a library with no database or web imports.

Targets and options in, an async stream of per-host results out; ``findings_for_port`` turns a port
result into finding drafts (CVE findings come from the vulnerability matcher, not from here).

Names are loaded on first use so that sweep worker processes, which import only
``cybervault.scanner.sweep``, start without paying for asyncio, ssl and the probes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not imported from typing: workers skip that import entirely
if TYPE_CHECKING:
    from cybervault.scanner.backends import SweepWorkerError
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

_EXPORTS = {
    "FindingDraft": "models",
    "HostResult": "models",
    "PortResult": "models",
    "Progress": "models",
    "ScanOptions": "models",
    "ServiceInfo": "models",
    "TlsInfo": "models",
    "expand_targets": "engine",
    "run_scan": "engine",
    "SweepWorkerError": "backends",
    "findings_for_port": "findings",
}
__all__ = [
    "FindingDraft",
    "HostResult",
    "PortResult",
    "Progress",
    "ScanOptions",
    "ServiceInfo",
    "SweepWorkerError",
    "TlsInfo",
    "expand_targets",
    "findings_for_port",
    "run_scan",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cybervault.scanner' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"cybervault.scanner.{module}"), name)
    globals()[name] = value
    return value
