"""Quick scan (top 100 ports, banner detection) of all 256 addresses of a /24 inside a namespace.

The namespace routes 10.77.0.0/24 into a veth pair whose far end has no addresses, so absent hosts
are silent as on a real LAN; 32 addresses are made local (live), 8 of them with listeners. Wall time
is process start to exit of `cybervault scan`. Last line: hosts_per_second=<256 / seconds>.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from lab import Lab, can_run

CIDR = "10.77.0.0/24"
LIVE = [f"10.77.0.{i}" for i in range(1, 256, 8)]  # 32 live hosts
SERVING = LIVE[:8]
ROUNDS = 3


def main() -> None:
    ok, reason = can_run()
    if not ok:
        raise SystemExit(reason)
    with Lab("cvbench") as lab:
        lab.add_silent_range(CIDR, LIVE)
        lab.start_listeners([f"{h}@{p}" for h in SERVING for p in (22, 80)])
        times, engine = [], []
        for _ in range(ROUNDS):
            t0 = time.monotonic()
            res = lab.run([sys.executable, "-m", "cybervault.cli.scan", CIDR, "--depth", "quick", "--json"],
                          env={"CYBERVAULT_SCAN_ALLOWED_NETWORKS": CIDR})  # fmt: skip
            times.append(time.monotonic() - t0)
            assert res.returncode == 0, res.stderr
            doc = json.loads(res.stdout)
            engine.append(doc["duration_s"])
            found = {h["host"]: sorted(p["port"] for p in h["ports"]) for h in doc["hosts"]}
            expected = {h: ([22, 80] if h in SERVING else []) for h in LIVE}
            if found != expected:
                raise SystemExit(f"wrong hosts: {found}")
    best = statistics.median(times)
    print(f"of which scanning (CLI start-up excluded): median {statistics.median(engine):.2f}s")
    print(f"256 addresses, {len(LIVE)} live, {len(SERVING)} with open ports: "
          f"{', '.join(f'{t:.2f}s' for t in times)}  median {best:.2f}s")  # fmt: skip
    print(f"hosts_per_second={256 / best:.0f}")


if __name__ == "__main__":
    main()
