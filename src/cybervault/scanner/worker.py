"""A sweep worker process: ``python -m cybervault.scanner.worker`` with a JSON job on stdin.

Big sweeps are split across one such process per core (the kernel work of connect() on loopback or
a fast LAN is per-CPU, so one Python thread cannot use the machine). The protocol on stdout is line
based: ``P <ports done>`` every 100 ms, ``H <json HostSweep>`` as each host's share completes, and
``E`` at the end. The parent cancels a worker by killing it.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict

from cybervault.scanner.sweep import HostSweep, SweepCounter, sweep


def expand_ranges(ranges: list[list[int]]) -> list[int]:
    ports: list[int] = []
    for start, stop, step in ranges:
        ports.extend(range(start, stop, step))
    return ports


def main() -> None:
    job = json.loads(sys.stdin.read())
    hosts = [(h, expand_ranges(r)) for h, r in job["hosts"]]
    counter = SweepCounter()
    lock = threading.Lock()
    finished = threading.Event()
    out = sys.stdout

    def emit(line: str) -> None:
        with lock:
            out.write(line + "\n")
            out.flush()

    def on_host_done(hs: HostSweep) -> None:
        emit("H " + json.dumps(asdict(hs)))

    def ticker() -> None:
        while not finished.wait(0.1):
            emit(f"P {counter.done}")

    t = threading.Thread(target=ticker, daemon=True)
    t.start()
    try:
        sweep(
            hosts,
            timeout=float(job["timeout"]),
            window=int(job["window"]),
            retries=int(job["retries"]),
            counter=counter,
            on_host_done=on_host_done,
        )
    finally:
        finished.set()
    emit(f"P {counter.done}")
    emit("E")


if __name__ == "__main__":
    main()
