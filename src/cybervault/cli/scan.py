"""``cybervault scan TARGET``: run the engine directly from a terminal.

Obeys the operator's CYBERVAULT_SCAN_ALLOWED_NETWORKS (default loopback only) exactly like the API.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import socket
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cybervault.scanner import (
    FindingDraft,
    HostResult,
    ScanOptions,
    expand_targets,
    findings_for_port,
    run_scan,
)
from cybervault.scanner import Progress as ScanProgress
from cybervault.scanner.ports import parse_port_spec

DEFAULT_ALLOWED = ["127.0.0.0/8", "::1/128"]
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}

app = typer.Typer(add_completion=False, help="Scan hosts you own for exposed and weak services.")


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        from cybervault.config import get_settings

        raw = list(get_settings().scan_allowed_networks)
    except ImportError:  # settings module not present: read the variable the same way
        env = os.environ.get("CYBERVAULT_SCAN_ALLOWED_NETWORKS")
        raw = [p.strip() for p in env.split(",") if p.strip()] if env else DEFAULT_ALLOWED
    return [ipaddress.ip_network(n, strict=False) for n in raw]


def resolve(target: str, max_hosts: int) -> list[str]:
    """IPs and CIDRs expand; a hostname resolves to every address it has (each is checked)."""
    try:
        return expand_targets(target, max_hosts)
    except ValueError:
        if "/" in target or not target or any(c.isspace() for c in target):
            raise
    try:
        infos = socket.getaddrinfo(target, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ValueError(f"invalid target {target!r}: not an IP, CIDR or resolvable hostname") from exc
    return sorted({str(ipaddress.ip_address(i[4][0])) for i in infos})


def out_of_scope(hosts: list[str], nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    bad = []
    for h in hosts:
        addr = ipaddress.ip_address(h)
        if not any(addr.version == n.version and addr in n for n in nets):
            bad.append(h)
    return bad


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def render_findings(console: Console, findings: list[FindingDraft]) -> None:
    table = Table(title=f"{len(findings)} findings", show_lines=False)
    for col in ("severity", "type", "host", "port", "service", "details"):
        table.add_column(col)
    for f in sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.host, f.port or 0)):
        svc = f.service
        label = " ".join(x for x in (svc.product or svc.name, svc.version or "") if x) if svc else ""
        table.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]", f.type, f.host,
                      str(f.port or ""), label, f.details)  # fmt: skip
    console.print(table)


async def _scan(hosts: list[str], options: ScanOptions, show_progress: bool, console: Console) -> list[HostResult]:
    results: list[HostResult] = []
    with Progress(
        TextColumn("[bold]scanning"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(), console=console, disable=not show_progress, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("scan", total=100, detail="")

        def on_progress(p: ScanProgress) -> None:
            detail = f"hosts {p.hosts_done}/{p.hosts_total} ports {p.ports_done}/{p.ports_total}"
            bar.update(task, completed=p.percent, detail=detail)

        async for host in run_scan(hosts, options, on_progress=on_progress):
            results.append(host)
    return results


@app.command()
def scan(
    target: Annotated[str, typer.Argument(help="IP address, CIDR range or hostname")],
    depth: Annotated[
        str, typer.Option(help="quick (top 100 ports), standard (top 1000), deep (all 65535)")
    ] = "standard",
    ports: Annotated[str | None, typer.Option(help="explicit ports, e.g. 22,80,1-1024")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable results")] = False,
    timeout: Annotated[float, typer.Option(help="initial connect timeout in seconds")] = 1.0,
    concurrency: Annotated[int, typer.Option(help="connects in flight at once")] = 2000,
) -> None:
    """Scan TARGET for open ports, identify services and versions, and list findings."""
    console = Console(stderr=as_json)
    if depth not in ("quick", "standard", "deep"):
        raise typer.BadParameter("depth must be quick, standard or deep", param_hint="--depth")
    try:
        port_list = parse_port_spec(ports) if ports else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--ports") from exc
    try:
        hosts = resolve(target, 65536)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="TARGET") from exc
    outside = out_of_scope(hosts, allowed_networks())
    if outside:
        console.print(f"[red]target_out_of_scope:[/] {', '.join(outside[:5])} outside "
                      "CYBERVAULT_SCAN_ALLOWED_NETWORKS")  # fmt: skip
        raise typer.Exit(3)
    options = ScanOptions(
        depth=depth,  # type: ignore[arg-type]  # checked above
        ports=port_list, connect_timeout=timeout, concurrency=concurrency,
    )  # fmt: skip
    started = datetime.now(UTC)
    t0 = time.monotonic()
    results = asyncio.run(_scan(hosts, options, not as_json and sys.stderr.isatty(), console))
    findings = [f for h in results for p in h.ports for f in findings_for_port(p)]
    elapsed = round(time.monotonic() - t0, 3)
    if as_json:
        doc = {
            "target": target, "depth": depth, "started_at": started.isoformat(), "duration_s": elapsed,
            "hosts": [asdict(h) for h in results], "findings": [asdict(f) for f in findings],
        }  # fmt: skip
        sys.stdout.write(json.dumps(doc, default=_json_default) + "\n")
        return
    for h in results:
        table = Table(title=f"{h.host}: {len(h.ports)} open ports")
        for col in ("port", "service", "product", "version", "cpe"):
            table.add_column(col)
        for p in h.ports:
            s = p.service
            table.add_row(f"{p.port}/{p.protocol}", s.name if s else "", (s.product or "") if s else "",
                          (s.version or "") if s else "", (s.cpe or "") if s else "")  # fmt: skip
        console.print(table)
    if not results:
        console.print("no live hosts found")
    render_findings(console, findings)
    console.print(f"scanned {len(hosts)} host(s) in {elapsed}s")


if __name__ == "__main__":
    app()
