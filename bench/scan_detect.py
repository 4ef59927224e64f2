"""Service detection on the lab's services: CyberVault (standard depth) vs `nmap -sV` on the same ports.

Both run inside a namespace this script creates, alternately, three rounds each; wall times are
process start to exit. Prints per-port what each named, the product agreement, then the last line
detect_vs_nmap_ratio=<ours/nmap>. Every service nmap names must be named by us too.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import xml.etree.ElementTree as ET

from lab import LAB_PORTS, Lab, can_run, ensure_apt

ROUNDS = 3
PORTS = ",".join(str(p) for p in sorted(LAB_PORTS.values()))
# nmap's service names and product strings -> ours.
NAME_ALIASES = {"ssl/http": "https", "ssl/https": "https", "https": "https", "http": "http", "ssh": "ssh",
                "redis": "redis", "ftp": "ftp", "telnet": "telnet"}  # fmt: skip
PRODUCT_ALIASES = {
    "OpenSSH": "OpenSSH",
    "Redis key-value store": "Redis",
    "SimpleHTTPServer": "Python http.server",
    "BaseHTTPServer": "Python http.server",
    "ProFTPD": "ProFTPD",
}


def nmap_services(xml_text: str) -> dict[int, tuple[str, str | None, str | None]]:
    out = {}
    for port in ET.fromstring(xml_text).iter("port"):
        svc = port.find("service")
        if svc is None:
            continue
        name = ("ssl/" if svc.get("tunnel") == "ssl" else "") + (svc.get("name") or "")
        out[int(port.get("portid", "0"))] = (name, svc.get("product"), svc.get("version"))
    return out


def main() -> None:
    ok, reason = can_run()
    if not ok:
        raise SystemExit(reason)
    ensure_apt("nmap")
    with Lab("cvbench") as lab:
        lab.start_services()
        ours_t, nmap_t = [], []
        for _ in range(ROUNDS):
            t0 = time.monotonic()
            res = lab.run([sys.executable, "-m", "cybervault.cli.scan", "127.0.0.1", "--ports", PORTS, "--json"])
            ours_t.append(time.monotonic() - t0)
            assert res.returncode == 0, res.stderr
            ours = {p["port"]: p["service"] for p in json.loads(res.stdout)["hosts"][0]["ports"]}
            t0 = time.monotonic()
            res = lab.run(["nmap", "-sV", "-T4", "-n", "-p", PORTS, "-oX", "-", "127.0.0.1"], timeout=600)
            nmap_t.append(time.monotonic() - t0)
            assert res.returncode == 0, res.stderr
            theirs = nmap_services(res.stdout)
    agree = named = 0
    missing = []
    print(f"{'port':>5}  {'nmap -sV':<46} cybervault")
    for port in sorted(LAB_PORTS.values()):
        n_name, n_prod, n_ver = theirs.get(port, ("", None, None))
        o = ours.get(port) or {}
        print(f"{port:>5}  {n_name + ' ' + (n_prod or '') + ' ' + (n_ver or ''):<46} "
              f"{o.get('name', '')} {o.get('product') or ''} {o.get('version') or ''}")  # fmt: skip
        if n_name and n_name not in ("unknown", "tcpwrapped"):
            named += 1
            if NAME_ALIASES.get(n_name, n_name) != o.get("name"):
                missing.append(port)
        if n_prod:
            if PRODUCT_ALIASES.get(n_prod, n_prod) == o.get("product"):
                agree += 1
            else:
                print(f"       product disagreement on {port}: nmap {n_prod!r}, ours {o.get('product')!r}")
    products = sum(1 for p in theirs.values() if p[1])
    ours_m, nmap_m = statistics.median(ours_t), statistics.median(nmap_t)
    print(f"services named by nmap: {named}, also named by us: {named - len(missing)}")
    print(f"product agreement: {agree}/{products} of the products nmap reports")
    extra = sum(1 for p, svc in ours.items() if svc.get("product") and not theirs.get(p, ("", None))[1])
    print(f"products we report that nmap does not: {extra}")
    print(f"cybervault: {', '.join(f'{t:.2f}s' for t in ours_t)}  median {ours_m:.2f}s")
    print(f"nmap -sV:   {', '.join(f'{t:.2f}s' for t in nmap_t)}  median {nmap_m:.2f}s")
    if missing:
        raise SystemExit(f"services nmap named that we did not: {missing}")
    print(f"detect_vs_nmap_ratio={ours_m / nmap_m:.2f}")


if __name__ == "__main__":
    main()
