"""Run the `cybervault` CLI with live scans narrowed to ports the caller owns.

Multi-process tests and the load benchmark start API and worker processes through this module so a
live scan of a loopback service probes only CYBERVAULT_TEST_SCAN_PORTS (comma-separated), never a sweep
of the shared loopback. Without the variable, live scans fail before sending a packet.
"""

from __future__ import annotations

import os
import sys


def _narrow_scans() -> None:
    from cybervault.scanner import ScanOptions
    from cybervault.scans import runner

    ports = [int(p) for p in os.environ.get("CYBERVAULT_TEST_SCAN_PORTS", "").split(",") if p.strip()]

    def options(depth: str) -> ScanOptions:
        if not ports:
            raise RuntimeError("no CYBERVAULT_TEST_SCAN_PORTS: refusing to probe the shared loopback")
        return ScanOptions(depth=depth, ports=ports, connect_timeout=0.5)  # type: ignore[arg-type]

    runner.engine_options = options  # type: ignore[assignment]


if __name__ == "__main__":
    _narrow_scans()
    from cybervault.cli.main import main

    sys.argv[0] = "cybervault"
    main()
