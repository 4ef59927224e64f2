"""Full 65535-port TCP connect sweep of a namespace host: CyberVault's engine vs `nmap -sT -p- -T4 -n`.

Both run inside a network namespace this script creates, against the same listeners, alternately,
three times each; the medians of the wall times (process start to exit, so interpreter start-up
counts against us) are compared. The open-port sets must be identical.
Last line: scan_vs_nmap_ratio=<ours/nmap>.
"""

from __future__ import annotations

import re
import statistics
import sys
import time

from lab import Lab, can_run, ensure_apt

OPEN = ["22", "80", "443", "3306", "8080", "31337", "50123", "65535"]
ROUNDS = 3
OURS = (
    "import asyncio\n"
    "from cybervault.scanner import run_scan, ScanOptions\n"
    "async def main():\n"
    "    opts = ScanOptions(depth='deep', detect_services=False)\n"
    "    async for h in run_scan(['127.0.0.1'], opts):\n"
    "        print(' '.join(str(p.port) for p in h.ports))\n"
    "asyncio.run(main())\n"
)


def timed(lab: Lab, argv: list[str]) -> tuple[float, str]:
    t0 = time.monotonic()
    res = lab.run(argv, timeout=600)
    elapsed = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {res.stderr[-2000:]}")
    return elapsed, res.stdout


def main() -> None:
    ok, reason = can_run()
    if not ok:
        raise SystemExit(reason)
    ensure_apt("nmap")
    with Lab("cvbench") as lab:
        lab.start_listeners(OPEN)
        ours_t, nmap_t = [], []
        for _ in range(ROUNDS):
            t, out = timed(lab, [sys.executable, "-c", OURS])
            ours_t.append(t)
            ours_ports = set(out.split())
            t, out = timed(lab, ["nmap", "-sT", "-p-", "-T4", "-n", "--open", "-oG", "-", "127.0.0.1"])
            nmap_t.append(t)
            nmap_ports = set(re.findall(r"(\d+)/open/tcp", out))
            if ours_ports != nmap_ports or ours_ports != set(OPEN):
                raise SystemExit(f"open ports differ: ours={sorted(ours_ports)} nmap={sorted(nmap_ports)}")
        ours, nmap = statistics.median(ours_t), statistics.median(nmap_t)
        print(f"open ports (both): {' '.join(sorted(OPEN, key=int))}")
        print(f"cybervault runs: {', '.join(f'{t:.2f}s' for t in ours_t)}  median {ours:.2f}s")
        print(f"nmap -sT runs:   {', '.join(f'{t:.2f}s' for t in nmap_t)}  median {nmap:.2f}s")
        print(f"scan_vs_nmap_ratio={ours / nmap:.2f}")


if __name__ == "__main__":
    main()
