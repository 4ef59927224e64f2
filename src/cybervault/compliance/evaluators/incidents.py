"""Evaluators over incidents: response SLAs, GDPR 72-hour notification, post-incident reviews."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select

from cybervault.compliance.evaluation import Evidence, Status
from cybervault.compliance.evaluators.base import (
    EvaluationContext,
    Outcome,
    column,
    evaluator,
    plural,
    require_model,
)

RESOLVED = ("resolved", "closed")


def _incident_model() -> Any:
    return require_model("cybervault.incidents.models", "Incident", what="Incidents")


def _late(done_at: Any, due: Any, now: Any) -> Any:
    """Done after the deadline, or not done and the deadline has passed."""
    return or_(and_(done_at.is_not(None), done_at > due), and_(done_at.is_(None), due < now))


@evaluator("incident_sla")
async def incident_sla(ctx: EvaluationContext) -> Outcome:
    inc = _incident_model()
    ack_by = column(inc, "acknowledge_by", "ack_due_at", "acknowledge_due_at")
    acked = column(inc, "acknowledged_at", "triaged_at", "ack_at")
    resolve_by = column(inc, "resolve_by", "resolve_due_at")
    resolved = column(inc, "resolved_at")
    days = ctx.thresholds.incident_window_days
    in_window = inc.created_at >= ctx.days_ago(days)
    ack_late = and_(ack_by.is_not(None), _late(acked, ack_by, ctx.now))
    res_late = and_(resolve_by.is_not(None), _late(resolved, resolve_by, ctx.now))
    open_overdue = and_(resolved.is_(None), or_(and_(acked.is_(None), ack_by < ctx.now),
                                                resolve_by < ctx.now))
    row = (await ctx.session.execute(
        select(func.count(), func.sum(case((ack_late, 1), else_=0)), func.sum(case((res_late, 1), else_=0)),
               func.sum(case((open_overdue, 1), else_=0)))
        .where(*ctx.tenant(inc), in_window)
    )).one()
    total, n_ack, n_res, n_open = (int(v or 0) for v in row)
    if total == 0:
        return Outcome(Status.PASS, f"No incidents in the last {days} days, so no SLA was missed.",
                       (Evidence(f"0 incidents in the last {days} days", "incidents", 0, (), ctx.now),))
    breached = or_(ack_late, res_late)
    n_breached = int(await ctx.session.scalar(
        select(func.count()).select_from(inc).where(*ctx.tenant(inc), in_window, breached)) or 0)
    if n_breached == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'incident')} of the last {days} days met their SLAs.",
                       (Evidence(f"{total} incidents acknowledged and resolved within SLA", "incidents", total,
                                 (), ctx.now, {"window_days": days}),))
    ids = await ctx.sample_ids(inc, in_window, breached)
    evidence = [Evidence(f"{plural(n_breached, 'incident')} of {total} missed an acknowledge or resolve deadline",
                         "incidents", n_breached, ids, ctx.now,
                         {"acknowledge_late": n_ack, "resolve_late": n_res, "open_overdue": n_open,
                          "window_days": days})]
    # Open incidents past their deadline, or a breach rate above one in five, fail; a few late ones are partial.
    status = Status.FAIL if n_open or n_breached * 5 > total else Status.PARTIAL
    return Outcome(status, f"{plural(n_breached, 'incident')} of {total} missed an SLA deadline.", tuple(evidence))


@evaluator("breach_notification")
async def breach_notification(ctx: EvaluationContext) -> Outcome:
    inc = _incident_model()
    breach = column(inc, "personal_data_breach")
    due = column(inc, "notify_authority_by")
    notified = column(inc, "authority_notified_at", "notified_authority_at")
    window = inc.created_at >= ctx.days_ago(ctx.thresholds.breach_window_days)
    overdue = and_(notified.is_(None), due < ctx.now)
    late = and_(notified.is_not(None), notified > due)
    row = (await ctx.session.execute(
        select(func.count(), func.sum(case((overdue, 1), else_=0)), func.sum(case((late, 1), else_=0)))
        .where(*ctx.tenant(inc), breach.is_(True), window)
    )).one()
    total, n_overdue, n_late = (int(v or 0) for v in row)
    if total == 0:
        return Outcome(Status.PASS, "No personal-data breaches in the last year.",
                       (Evidence("0 personal-data breach incidents", "incidents", 0, (), ctx.now),))
    evidence = []
    if n_overdue:
        ids = await ctx.sample_ids(inc, breach.is_(True), window, overdue)
        evidence.append(Evidence(f"{plural(n_overdue, 'breach', 'breaches')} past 72 hours with no authority "
                                 "notification recorded", "incidents", n_overdue, ids, ctx.now))
    if n_late:
        ids = await ctx.sample_ids(inc, breach.is_(True), window, late)
        evidence.append(Evidence(f"{plural(n_late, 'breach', 'breaches')} notified after 72 hours", "incidents",
                                 n_late, ids, ctx.now))
    if not evidence:
        return Outcome(Status.PASS, f"All {plural(total, 'personal-data breach', 'personal-data breaches')} "
                       "were notified within 72 hours or are still inside the window.",
                       (Evidence(f"{total} breaches on time", "incidents", total, (), ctx.now),))
    status = Status.FAIL if n_overdue else Status.PARTIAL
    return Outcome(status, f"{plural(n_overdue + n_late, 'breach', 'breaches')} missed the 72-hour notification.",
                   tuple(evidence))


@evaluator("post_incident_review")
async def post_incident_review(ctx: EvaluationContext) -> Outcome:
    inc = _incident_model()
    priority = column(inc, "priority")
    status_col = column(inc, "status")
    resolved = column(inc, "resolved_at")
    review = column(inc, "lessons_learned", "post_incident_review", "review")
    days = ctx.thresholds.review_due_days
    major_resolved = and_(priority.in_(("P1", "P2")), status_col.in_(RESOLVED), resolved.is_not(None))
    missing = or_(review.is_(None), review == "")
    due = and_(major_resolved, missing, resolved < ctx.days_ago(days))
    row = (await ctx.session.execute(
        select(func.count(), func.sum(case((due, 1), else_=0)))
        .where(*ctx.tenant(inc), major_resolved)
    )).one()
    total, n_missing = int(row[0] or 0), int(row[1] or 0)
    if total == 0:
        return Outcome(Status.PASS, "No resolved P1 or P2 incidents need a review.",
                       (Evidence("0 resolved P1/P2 incidents", "incidents", 0, (), ctx.now),))
    if n_missing == 0:
        return Outcome(Status.PASS, f"Every resolved P1/P2 incident has a review or is within {days} days.",
                       (Evidence(f"{total} resolved P1/P2 incidents reviewed or within {days} days", "incidents",
                                 total, (), ctx.now),))
    ids = await ctx.sample_ids(inc, due)
    return Outcome(Status.FAIL, f"{plural(n_missing, 'resolved P1/P2 incident')} without a written review.",
                   (Evidence(f"{plural(n_missing, 'P1/P2 incident')} resolved over {days} days ago with no "
                             "lessons learned recorded", "incidents", n_missing, ids, ctx.now),))
