"""Automated triage: enrich an incident from assets, findings and CVEs, score it, find duplicates,
apply the org's rules and set SLA deadlines. The formula is documented in docs/triage.md."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.incidents import sources
from cybervault.incidents.models import OPEN_STATUSES, Incident, IncidentKey, TriageRule, TriageSettings
from cybervault.kit.auth import Principal
from cybervault.kit.time import iso

CVE_IN_TEXT = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)
MAX_TEXT_CVES = 50
DUPLICATE_WINDOW = dt.timedelta(hours=24)
TITLE_SIMILARITY = 0.6
MAX_RELATED = 20
MAX_RULES = 200
MAX_LISTED_ASSETS = 100

SEVERITY_POINTS = {"critical": 60, "high": 40, "medium": 20, "low": 5}
CRITICALITY_POINTS = {"critical": 20, "high": 12, "medium": 5, "low": 0}
FINDING_POINTS = {"critical": 10, "high": 5}
KEV_POINTS = 15
HIGH_CVSS_POINTS = 5
PERSONAL_DATA_POINTS = 10
BLAST_RADIUS_POINTS = 5
BLAST_RADIUS_ASSETS = 10
PRIORITY_THRESHOLDS = (("P1", 75), ("P2", 50), ("P3", 25), ("P4", 0))

DEFAULT_SLA_MINUTES: dict[str, dict[str, int]] = {
    "P1": {"acknowledge_minutes": 15, "resolve_minutes": 4 * 60},
    "P2": {"acknowledge_minutes": 60, "resolve_minutes": 24 * 60},
    "P3": {"acknowledge_minutes": 4 * 60, "resolve_minutes": 3 * 24 * 60},
    "P4": {"acknowledge_minutes": 24 * 60, "resolve_minutes": 7 * 24 * 60},
}
ACTOR = "system:triage"


@dataclass
class TriageInput:
    title: str
    description: str
    severity: str
    systems: list[str]
    personal_data_breach: bool = False


@dataclass
class Step:
    type: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TriageOutcome:
    priority: str
    score: int
    assignee: str | None
    team: str | None
    channels: list[str]
    acknowledge_by: dt.datetime
    resolve_by: dt.datetime
    likely_duplicate_of: str | None
    keys: list[str]
    report: dict[str, Any]
    steps: list[Step]


def priority_for(score: int) -> str:
    return next(p for p, floor in PRIORITY_THRESHOLDS if score >= floor)


def score_incident(data: TriageInput, assets: list[sources.AssetFacts], findings: list[sources.FindingFacts],
                   cves: dict[str, sources.CveFacts]) -> tuple[int, list[dict[str, Any]]]:
    """The documented formula: points per factor, capped at 100, each with its reason."""
    reasons: list[dict[str, Any]] = [{"factor": "severity", "points": SEVERITY_POINTS[data.severity],
                                      "detail": f"Reported severity is {data.severity}."}]
    if assets:
        worst = max(assets, key=lambda a: CRITICALITY_POINTS.get(a.criticality, 0))
        points = CRITICALITY_POINTS.get(worst.criticality, 0)
        if points:
            reasons.append({"factor": "asset_criticality", "points": points,
                            "detail": f"Affects {worst.criticality}-criticality asset {worst.id} ({worst.target})."})
    kev_ids = sorted({c.id for c in cves.values() if c.kev} | {f.cve for f in findings if f.kev and f.cve})
    if kev_ids:
        reasons.append({"factor": "known_exploited", "points": KEV_POINTS,
                        "detail": f"Known exploited vulnerability involved: {', '.join(kev_ids[:5])}."})
    worst_finding = next((s for s in ("critical", "high") if any(f.severity == s for f in findings)), None)
    if worst_finding:
        count = sum(1 for f in findings if f.severity == worst_finding)
        reasons.append({"factor": "open_findings", "points": FINDING_POINTS[worst_finding],
                        "detail": f"{count} open {worst_finding} finding(s) on the affected systems."})
    high_cvss = sorted(c.id for c in cves.values() if not c.kev and (c.cvss or 0) >= 9.0)
    if high_cvss:
        reasons.append({"factor": "critical_cvss", "points": HIGH_CVSS_POINTS,
                        "detail": f"CVSS 9.0 or higher: {', '.join(high_cvss[:5])}."})
    if data.personal_data_breach:
        reasons.append({"factor": "personal_data_breach", "points": PERSONAL_DATA_POINTS,
                        "detail": "Personal data is involved (GDPR 72-hour notification applies)."})
    if len(assets) >= BLAST_RADIUS_ASSETS:
        reasons.append({"factor": "blast_radius", "points": BLAST_RADIUS_POINTS,
                        "detail": f"{len(assets)} assets affected."})
    return min(100, sum(r["points"] for r in reasons)), reasons


def cves_in_text(*texts: str) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        for match in CVE_IN_TEXT.findall(text):
            found.setdefault(match.upper(), None)
    return list(found)[:MAX_TEXT_CVES]


def _bigrams(text: str) -> Counter[str]:
    norm = " ".join(re.findall(r"[a-z0-9]+", text.lower()))
    return Counter(norm[i:i + 2] for i in range(len(norm) - 1))


def title_similarity(a: str, b: str) -> float:
    """Dice coefficient over character bigrams of the normalised titles (0 to 1); linear time, unlike
    difflib, because it runs against every related incident on each create."""
    x, y = _bigrams(a), _bigrams(b)
    total = sum(x.values()) + sum(y.values())
    if not total:
        return 0.0
    return round(2 * sum((x & y).values()) / total, 3)


def rule_matches(cond: dict[str, Any], *, severity: str, priority: str, assets: list[sources.AssetFacts],
                 cve_ids: set[str], has_kev: bool, text: str) -> bool:
    """All given conditions must hold; inside one condition any listed value matches."""
    if cond.get("severity") and severity not in cond["severity"]:
        return False
    if cond.get("priority") and priority not in cond["priority"]:
        return False
    if cond.get("asset_tags") and not any(set(cond["asset_tags"]) & set(a.tags) for a in assets):
        return False
    if cond.get("asset_criticality") and not any(a.criticality in cond["asset_criticality"] for a in assets):
        return False
    if cond.get("cve") and not (set(cond["cve"]) & cve_ids):
        return False
    if cond.get("kev") is not None and bool(cond["kev"]) != has_kev:
        return False
    return not (cond.get("text") and not any(t.lower() in text for t in cond["text"]))


async def sla_minutes(session: AsyncSession, principal: Principal) -> dict[str, dict[str, int]]:
    row = await session.get(TriageSettings, (principal.org_id, principal.livemode))
    merged = {p: dict(v) for p, v in DEFAULT_SLA_MINUTES.items()}
    for p, v in ((row.sla if row else None) or {}).items():
        merged[p] = dict(v)
    return merged


async def _related(session: AsyncSession, principal: Principal, keys: list[str], title: str, now: dt.datetime,
                   exclude_id: str | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if not keys:
        return [], None
    # One round trip: keys in the window joined to their (still open) incidents, newest first, bounded.
    rows = (await session.execute(
        select(IncidentKey.incident_id, IncidentKey.value, Incident.title, Incident.status, Incident.severity,
               Incident.created_at)
        .join(Incident, Incident.id == IncidentKey.incident_id)
        .where(IncidentKey.org_id == principal.org_id, IncidentKey.livemode == principal.livemode,
               IncidentKey.value.in_(keys), IncidentKey.created_at >= now - DUPLICATE_WINDOW,
               Incident.status.in_(OPEN_STATUSES))
        .order_by(IncidentKey.created_at.desc()).limit(500))).all()
    shared: dict[str, list[str]] = {}
    facts: dict[str, tuple[str, str, str, dt.datetime]] = {}
    for incident_id, value, inc_title, status, severity, created in rows:
        if incident_id == exclude_id:
            continue
        shared.setdefault(incident_id, []).append(value)
        facts[incident_id] = (inc_title, status, severity, created)
    if not shared:
        return [], None
    incidents = [(i, *facts[i]) for i in sorted(shared, reverse=True)[:MAX_RELATED]]
    related = []
    for inc_id, inc_title, status, severity, created in incidents:
        related.append({"id": inc_id, "title": inc_title, "status": status, "severity": severity,
                        "created": iso(created), "shared": sorted(set(shared[inc_id])),
                        "title_similarity": title_similarity(title, inc_title)})
    best = max(related, key=lambda r: (r["title_similarity"], r["id"]), default=None)
    duplicate = None
    if best is not None and best["title_similarity"] >= TITLE_SIMILARITY:
        duplicate = {"id": best["id"], "title": best["title"], "title_similarity": best["title_similarity"],
                     "shared": best["shared"]}
    return related, duplicate


async def run_triage(session: AsyncSession, principal: Principal, data: TriageInput, *, now: dt.datetime,
                     created_at: dt.datetime | None = None, exclude_id: str | None = None) -> TriageOutcome:
    steps: list[Step] = []
    matched = await sources.match_systems(session, principal, data.systems)
    unmatched = [s for s, hits in matched.by_system.items() if not hits]
    steps.append(Step("triage.assets", f"Matched {len(matched.assets)} asset(s); "
                      f"{len(unmatched)} system(s) matched none.",
                      {"assets": [a.id for a in matched.assets], "unmatched_systems": unmatched}))
    hosts = [a.target for a in matched.assets if a.kind in ("ip", "hostname")]
    hosts += [s for s in data.systems if not s.startswith("ast_") and "/" not in s]
    findings = await sources.open_findings(session, principal, hosts)
    text_cves = cves_in_text(data.title, data.description)
    all_cve_ids = list(dict.fromkeys(text_cves + [f.cve for f in findings if f.cve]))
    cves = await sources.cve_facts(session, all_cve_ids)
    for f in findings:  # a finding's own KEV flag counts even when the CVE database lacks the record
        if f.cve and f.kev:
            cves[f.cve].kev = True
    steps.append(Step("triage.findings", f"{len(findings)} open finding(s) on the affected systems; "
                      f"{len(all_cve_ids)} CVE(s) involved, {sum(c.kev for c in cves.values())} known exploited.",
                      {"findings": [f.id for f in findings], "cves": all_cve_ids, "cves_in_text": text_cves}))
    score, reasons = score_incident(data, matched.assets, findings, cves)
    priority = priority_for(score)
    steps.append(Step("triage.priority", f"Priority {priority} (score {score}).",
                      {"priority": priority, "score": score, "reasons": reasons}))

    keys = [f"sys:{s}" for s in data.systems] + [f"sys:{a.id}" for a in matched.assets] + [
        f"cve:{c}" for c in text_cves]
    keys = list(dict.fromkeys(keys))
    related, duplicate = await _related(session, principal, keys, data.title, now, exclude_id)
    steps.append(Step("triage.duplicates",
                      f"{len(related)} related open incident(s)"
                      + (f"; likely duplicate of {duplicate['id']}." if duplicate else "; no likely duplicate."),
                      {"related": [r["id"] for r in related], "likely_duplicate": duplicate}))

    rules = (await session.scalars(
        select(TriageRule).where(TriageRule.org_id == principal.org_id, TriageRule.livemode == principal.livemode,
                                 TriageRule.enabled.is_(True))
        .order_by(TriageRule.position, TriageRule.id).limit(MAX_RULES))).all()
    text = f"{data.title}\n{data.description}".lower()
    has_kev = any(c.kev for c in cves.values())
    assignee: str | None = None
    team: str | None = None
    override: str | None = None
    channels: list[str] = []
    applied: list[dict[str, Any]] = []
    for rule in rules:
        current = override or priority
        if not rule_matches(rule.conditions or {}, severity=data.severity, priority=current, assets=matched.assets,
                            cve_ids=set(all_cve_ids), has_kev=has_kev, text=text):
            continue
        actions = rule.actions or {}
        # The first matching rule to set a value wins; channels accumulate.
        assignee = assignee or actions.get("assign")
        team = team or actions.get("team")
        override = override or actions.get("priority")
        channels.extend(c for c in actions.get("channels") or [] if c not in channels)
        applied.append({"id": rule.id, "name": rule.name, "actions": actions})
        steps.append(Step("triage.rule", f"Rule {rule.id}{' (' + rule.name + ')' if rule.name else ''} applied.",
                          {"rule": rule.id, "actions": actions}))
        if rule.stop_processing:
            break
    if override and override != priority:
        reasons.append({"factor": "rule_override", "points": 0,
                        "detail": f"Triage rule set priority {override} (computed {priority})."})
        priority = override

    sla = (await sla_minutes(session, principal))[priority]
    start = created_at or now
    acknowledge_by = start + dt.timedelta(minutes=sla["acknowledge_minutes"])
    resolve_by = start + dt.timedelta(minutes=sla["resolve_minutes"])
    steps.append(Step("triage.sla", f"SLA for {priority}: acknowledge by {iso(acknowledge_by)}, "
                      f"resolve by {iso(resolve_by)}.",
                      {"acknowledge_by": iso(acknowledge_by), "resolve_by": iso(resolve_by), **sla}))
    report = {
        "priority": priority,
        "score": score,
        "reasons": reasons,
        # Listed up to MAX_LISTED_ASSETS (most critical first) so event payloads stay small; the count is exact.
        "asset_count": len(matched.assets),
        "assets": [{"id": a.id, "target": a.target, "name": a.name, "criticality": a.criticality, "tags": a.tags}
                   for a in sorted(matched.assets, key=lambda a: (-CRITICALITY_POINTS.get(a.criticality, 0), a.id))
                   [:MAX_LISTED_ASSETS]],
        "matched_systems": {s: hits for s, hits in matched.by_system.items() if hits},
        "unmatched_systems": unmatched,
        "findings": [{"id": f.id, "host": f.host, "port": f.port, "type": f.type, "severity": f.severity,
                      "cve": f.cve, "kev": f.kev} for f in findings],
        "cves": [{"id": c.id, "kev": c.kev, "cvss": c.cvss, "severity": c.severity,
                  "source": "text" if c.id in text_cves else "finding"} for c in (cves[i] for i in all_cve_ids)],
        "cves_in_text": text_cves,
        "related_incidents": related,
        "likely_duplicate": duplicate,
        "rules_applied": applied,
        "assignee": assignee,
        "team": team,
        "channels": channels,
        "sla": {"acknowledge_by": iso(acknowledge_by), "resolve_by": iso(resolve_by), **sla},
        "triaged_at": iso(now),
    }
    return TriageOutcome(priority=priority, score=score, assignee=assignee, team=team, channels=channels,
                         acknowledge_by=acknowledge_by, resolve_by=resolve_by,
                         likely_duplicate_of=duplicate["id"] if duplicate else None, keys=keys, report=report,
                         steps=steps)
