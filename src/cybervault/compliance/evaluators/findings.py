"""Evaluators over scan findings: remediation SLA, KEV, exposed services, TLS, cleartext, no-auth.

All of them share one aggregate pass over the tenant's open findings (conditional counts), then
fetch a bounded sample of ids only for the conditions that are violated.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import and_, case, func, select

from cybervault.compliance.evaluation import Evidence, Status
from cybervault.compliance.evaluators.base import (
    EvaluationContext,
    Outcome,
    Unavailable,
    column,
    evaluator,
    optional_model,
    plural,
    sample_ids_many,
)

OPEN = "open"
# Services that should never face the internet: remote shells and desktops, file sharing, databases,
# caches, brokers and orchestration APIs.
RISKY_PORTS = {
    21: "ftp", 23: "telnet", 69: "tftp", 111: "rpcbind", 135: "msrpc", 139: "netbios", 161: "snmp",
    389: "ldap", 445: "smb", 1433: "mssql", 1521: "oracle", 1883: "mqtt", 2049: "nfs", 2375: "docker",
    3306: "mysql", 3389: "rdp", 4222: "nats", 5432: "postgresql", 5672: "amqp", 5900: "vnc",
    5901: "vnc", 5984: "couchdb", 6000: "x11", 6379: "redis", 9042: "cassandra", 9200: "elasticsearch",
    10250: "kubelet", 11211: "memcached", 27017: "mongodb",
}
EXPOSURE_TYPES = ("open_port", "cleartext_protocol", "unauthenticated_service")
# Documentation ranges stand in for public addresses in examples and sandbox scans.
_DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                                "2001:db8::/32")]


def is_public_address(host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a bare hostname: exposure unknown, judged by its resolved address when scanned
    return any(address in net for net in _DOC_NETS) or address.is_global


def _finding_model() -> Any:
    model = optional_model("cybervault.scans.models", "Finding", "ScanFinding")
    if model is None:
        raise Unavailable("Scan findings are not available in this installation yet.")
    return model


class _Cols:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.id = model.id
        self.type = column(model, "type", "finding_type")
        self.severity = column(model, "severity")
        self.status = column(model, "status")
        self.first_seen = column(model, "first_seen", "created_at")
        self.kev = column(model, "kev", "cisa_kev", required=False)
        self.host = column(model, "host", "ip", "address", required=False)
        self.port = column(model, "port", required=False)


# Prefixes that are certainly not public, dropped in SQL so few rows come back for the Python check.
_PRIVATE_PREFIXES = ("10.", "127.", "192.168.", "169.254.", "::1", "fe80:", "fc", "fd")


async def _counts(ctx: EvaluationContext) -> dict[str, Any]:
    """One aggregate pass over the tenant's open findings, cached for every evaluator in this run.

    Conditional counts give each evaluator its numbers; grouping by (host, port) only the rows that could
    be an exposed risky service yields the exposure candidates in the same scan.
    """
    if "finding_counts" in ctx.cache:
        return ctx.cache["finding_counts"]  # type: ignore[no-any-return]
    c = _Cols(_finding_model())
    t = ctx.thresholds
    conditions: dict[str, Any] = {
        "overdue_critical": and_(c.severity == "critical", c.first_seen < ctx.days_ago(t.critical_sla_days)),
        "overdue_high": and_(c.severity == "high", c.first_seen < ctx.days_ago(t.high_sla_days)),
        "open_critical_high": c.severity.in_(("critical", "high")),
        "tls": c.type.in_(("weak_tls", "certificate_problem")),
        "tls_severe": and_(c.type.in_(("weak_tls", "certificate_problem")),
                           c.severity.in_(("critical", "high"))),
        "cleartext": c.type == "cleartext_protocol",
        "unauthenticated": c.type == "unauthenticated_service",
    }
    if c.kev is not None:
        conditions["kev"] = c.kev.is_(True)
    group: list[Any] = []
    if c.host is not None and c.port is not None:
        candidate = and_(c.type.in_(EXPOSURE_TYPES), c.port.in_(tuple(RISKY_PORTS)),
                         *[~c.host.startswith(p) for p in _PRIVATE_PREFIXES])
        group = [case((candidate, c.host)).label("x_host"), case((candidate, c.port)).label("x_port")]
    columns = [func.count().filter(cond).label(name) for name, cond in conditions.items()]
    stmt = select(*group, func.count().label("n"), *columns).where(*ctx.tenant(c.model), c.status == OPEN)
    if group:
        stmt = stmt.group_by(*group)
    counts: dict[str, Any] = {name: 0 for name in conditions}
    exposed: dict[str, dict[int, int]] = {}
    for row in (await ctx.session.execute(stmt)).all():
        for name in conditions:
            counts[name] += int(getattr(row, name) or 0)
        host = getattr(row, "x_host", None)
        if host is not None and is_public_address(host):
            exposed.setdefault(host, {})[row.x_port] = int(row.n)
    counts["exposed"] = exposed
    # Evidence ids for every violated condition, fetched together.
    wanted = {name: conditions[name] for name in _SAMPLED if name in conditions and counts[name]}
    if exposed:
        wanted["exposed"] = and_(c.type.in_(EXPOSURE_TYPES), c.port.in_(tuple(RISKY_PORTS)),
                                 c.host.in_(sorted(exposed)[:500]))
    counts["samples"] = await sample_ids_many(ctx, c.model, [c.status == OPEN], wanted)
    ctx.cache["finding_counts"] = counts
    return counts


_SAMPLED = ("overdue_critical", "overdue_high", "kev", "tls", "cleartext", "unauthenticated")


def _ids(counts: dict[str, Any], name: str) -> tuple[str, ...]:
    return counts["samples"].get(name, ())  # type: ignore[no-any-return]


@evaluator("remediation_sla")
async def remediation_sla(ctx: EvaluationContext) -> Outcome:
    counts = await _counts(ctx)
    t = ctx.thresholds
    crit, high = counts["overdue_critical"], counts["overdue_high"]
    evidence = []
    if crit:
        ids = _ids(counts, "overdue_critical")
        evidence.append(Evidence(f"{plural(crit, 'critical finding')} open longer than {t.critical_sla_days} days",
                                 "findings", crit, ids, ctx.now, {"sla_days": t.critical_sla_days}))
    if high:
        ids = _ids(counts, "overdue_high")
        evidence.append(Evidence(f"{plural(high, 'high finding')} open longer than {t.high_sla_days} days",
                                 "findings", high, ids, ctx.now, {"sla_days": t.high_sla_days}))
    if not evidence:
        evidence.append(Evidence(
            f"No critical or high finding past its SLA ({counts['open_critical_high']} open within SLA)",
            "findings", 0, (), ctx.now))
        return Outcome(Status.PASS, "Every open critical and high finding is within its remediation SLA.",
                       tuple(evidence))
    status = Status.FAIL if crit else Status.PARTIAL
    return Outcome(status, f"{plural(crit + high, 'finding')} past the remediation SLA.", tuple(evidence))


@evaluator("open_kev_findings")
async def open_kev_findings(ctx: EvaluationContext) -> Outcome:
    counts = await _counts(ctx)
    c = _Cols(_finding_model())
    if c.kev is None:
        raise Unavailable("Findings do not record CISA KEV membership in this installation.")
    n = counts["kev"]
    if n == 0:
        return Outcome(Status.PASS, "No open finding is a known exploited vulnerability.",
                       (Evidence("No open findings with a CISA KEV CVE", "findings", 0, (), ctx.now),))
    ids = _ids(counts, "kev")
    return Outcome(Status.FAIL, f"{plural(n, 'open finding')} with a known exploited vulnerability.",
                   (Evidence(f"{plural(n, 'open finding')} reference a CVE in the CISA KEV catalog",
                             "findings", n, ids, ctx.now),))


@evaluator("exposed_services")
async def exposed_services(ctx: EvaluationContext) -> Outcome:
    c = _Cols(_finding_model())
    if c.host is None or c.port is None:
        raise Unavailable("Findings do not record host and port in this installation.")
    counts = await _counts(ctx)
    exposed: dict[str, dict[int, int]] = counts["exposed"]
    if not exposed:
        return Outcome(Status.PASS, "No risky service is exposed on a public address.",
                       (Evidence("No open finding shows a risky service on a public address", "findings", 0,
                                 (), ctx.now, {"risky_ports": sorted(RISKY_PORTS)}),))
    hosts = sorted(exposed)
    count = sum(n for ports in exposed.values() for n in ports.values())
    services = sorted({RISKY_PORTS[p] for ports in exposed.values() for p in ports})
    ids = _ids(counts, "exposed")
    where = plural(len(hosts), "public address", "public addresses")
    return Outcome(
        Status.FAIL,
        f"{plural(count, 'risky service finding')} on {where}.",
        (Evidence(f"Risky services ({', '.join(services)}) open on public addresses", "findings", count, ids,
                  ctx.now, {"hosts": hosts[:20], "services": services}),),
    )


async def _type_check(ctx: EvaluationContext, key: str, types: tuple[str, ...], noun: str,
                      ok: str, severe_key: str | None = None) -> Outcome:
    counts = await _counts(ctx)
    n = counts[key]
    if n == 0:
        return Outcome(Status.PASS, ok, (Evidence(f"No open {noun} findings", "findings", 0, (), ctx.now),))
    ids = _ids(counts, key)
    severe = counts[severe_key] if severe_key else n
    status = Status.FAIL if severe else Status.PARTIAL
    return Outcome(status, f"{plural(n, f'open {noun} finding')}.",
                   (Evidence(f"{plural(n, f'open {noun} finding')}", "findings", n, ids, ctx.now,
                             {"types": list(types)}),))


@evaluator("tls_hygiene")
async def tls_hygiene(ctx: EvaluationContext) -> Outcome:
    return await _type_check(ctx, "tls", ("weak_tls", "certificate_problem"), "TLS or certificate",
                             "No weak TLS or certificate problems are open.", severe_key="tls_severe")


@evaluator("cleartext_services")
async def cleartext_services(ctx: EvaluationContext) -> Outcome:
    return await _type_check(ctx, "cleartext", ("cleartext_protocol",), "cleartext protocol",
                             "No cleartext protocol findings are open.")


@evaluator("unauthenticated_services")
async def unauthenticated_services(ctx: EvaluationContext) -> Outcome:
    return await _type_check(ctx, "unauthenticated", ("unauthenticated_service",), "unauthenticated service",
                             "No service answers without authentication.")
