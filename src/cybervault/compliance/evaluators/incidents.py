"""Evaluators over incidents: response SLAs, GDPR 72-hour notification, post-incident reviews."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select

from cybervault.compliance.evaluation import Evidence, Status
from cybervault.compliance.evaluators.base import (
    EvaluationContext,
    Outcome,
    Unavailable,
    column,
    evaluator,
    plural,
    require_model,
    sample_ids_many,
)

RESOLVED = ("resolved", "closed")


def _incident_model() -> Any:
    return require_model("cybervault.incidents.models", "Incident", what="Incidents")


def _late(done_at: Any, due: Any, now: Any) -> Any:
    """Done after the deadline, or not done and the deadline has passed."""
    return or_(and_(done_at.is_not(None), done_at > due), and_(done_at.is_(None), due < now))


class _Cols:
    def __init__(self, ctx: EvaluationContext) -> None:
        inc = self.model = _incident_model()
        t = ctx.thresholds
        ack_by = column(inc, "acknowledge_by", "ack_due_at", "acknowledge_due_at")
        resolve_by = column(inc, "resolve_by", "resolve_due_at")
        resolved = column(inc, "resolved_at")
        # Resolving an incident also acknowledges it, even if nobody set the acknowledgement first.
        acked = func.coalesce(column(inc, "acknowledged_at", "triaged_at", "ack_at"), resolved)
        self.in_window = inc.created_at >= ctx.days_ago(t.incident_window_days)
        self.ack_late = and_(ack_by.is_not(None), _late(acked, ack_by, ctx.now))
        self.res_late = and_(resolve_by.is_not(None), _late(resolved, resolve_by, ctx.now))
        self.open_overdue = and_(resolved.is_(None), or_(and_(acked.is_(None), ack_by < ctx.now),
                                                         resolve_by < ctx.now))
        self.breached = or_(self.ack_late, self.res_late)


class _BreachCols:
    def __init__(self, ctx: EvaluationContext) -> None:
        inc = self.model = _incident_model()
        due = column(inc, "notify_authority_by")
        notified = column(inc, "authority_notified_at", "notified_authority_at")
        self.scope = and_(column(inc, "personal_data_breach").is_(True),
                          inc.created_at >= ctx.days_ago(ctx.thresholds.breach_window_days))
        self.overdue = and_(notified.is_(None), due < ctx.now)
        self.late = and_(notified.is_not(None), notified > due)


class _ReviewCols:
    def __init__(self, ctx: EvaluationContext) -> None:
        inc = self.model = _incident_model()
        resolved = column(inc, "resolved_at")
        review = column(inc, "lessons_learned", "post_incident_review", "review")
        self.major_resolved = and_(column(inc, "priority").in_(("P1", "P2")),
                                   column(inc, "status").in_(RESOLVED), resolved.is_not(None))
        self.due = and_(self.major_resolved, or_(review.is_(None), review == ""),
                        resolved < ctx.days_ago(ctx.thresholds.review_due_days))


async def _counts(ctx: EvaluationContext) -> dict[str, int]:
    """Every incident number the three evaluators need, from one pass over the tenant's incidents."""
    if "incident_counts" in ctx.cache:
        return ctx.cache["incident_counts"]  # type: ignore[no-any-return]
    conditions: dict[str, Any] = {}
    inc = _incident_model()
    for label, factory in (("sla", _Cols), ("breach", _BreachCols), ("review", _ReviewCols)):
        try:
            cols = factory(ctx)
        except Unavailable:
            continue  # that evaluator reports its own missing field
        if label == "sla":
            w = cols.in_window
            conditions.update(total=w, ack_late=and_(w, cols.ack_late), res_late=and_(w, cols.res_late),
                              open_overdue=and_(w, cols.open_overdue), breached=and_(w, cols.breached))
        elif label == "breach":
            conditions.update(breach_total=cols.scope, breach_overdue=and_(cols.scope, cols.overdue),
                              breach_late=and_(cols.scope, cols.late))
        else:
            conditions.update(major_resolved=cols.major_resolved, review_due=cols.due)
    counts: dict[str, int] = {}
    if conditions:
        row = (await ctx.session.execute(
            select(*[func.count().filter(cond).label(name) for name, cond in conditions.items()])
            .where(*ctx.tenant(inc))
        )).one()
        counts = {name: int(getattr(row, name) or 0) for name in conditions}
        wanted = {name: conditions[name] for name in _SAMPLED if counts.get(name)}
        ctx.cache["incident_samples"] = await sample_ids_many(ctx, inc, [], wanted)
    ctx.cache["incident_counts"] = counts
    return counts


_SAMPLED = ("breached", "breach_overdue", "breach_late", "review_due")


def _ids(ctx: EvaluationContext, name: str) -> tuple[str, ...]:
    return ctx.cache.get("incident_samples", {}).get(name, ())  # type: ignore[no-any-return]


@evaluator("incident_sla")
async def incident_sla(ctx: EvaluationContext) -> Outcome:
    _Cols(ctx)  # Unavailable when incidents lack these fields
    counts = await _counts(ctx)
    days = ctx.thresholds.incident_window_days
    total, n_ack, n_res, n_open = counts["total"], counts["ack_late"], counts["res_late"], counts["open_overdue"]
    if total == 0:
        return Outcome(Status.PASS, f"No incidents in the last {days} days, so no SLA was missed.",
                       (Evidence(f"0 incidents in the last {days} days", "incidents", 0, (), ctx.now),))
    n_breached = counts["breached"]
    if n_breached == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'incident')} of the last {days} days met their SLAs.",
                       (Evidence(f"{total} incidents acknowledged and resolved within SLA", "incidents", total,
                                 (), ctx.now, {"window_days": days}),))
    ids = _ids(ctx, "breached")
    evidence = [Evidence(f"{plural(n_breached, 'incident')} of {total} missed an acknowledge or resolve deadline",
                         "incidents", n_breached, ids, ctx.now,
                         {"acknowledge_late": n_ack, "resolve_late": n_res, "open_overdue": n_open,
                          "window_days": days})]
    # Open incidents past their deadline, or a breach rate above one in five, fail; a few late ones are partial.
    status = Status.FAIL if n_open or n_breached * 5 > total else Status.PARTIAL
    return Outcome(status, f"{plural(n_breached, 'incident')} of {total} missed an SLA deadline.", tuple(evidence))


@evaluator("breach_notification")
async def breach_notification(ctx: EvaluationContext) -> Outcome:
    _BreachCols(ctx)  # Unavailable when incidents lack these fields
    counts = await _counts(ctx)
    total, n_overdue, n_late = counts["breach_total"], counts["breach_overdue"], counts["breach_late"]
    if total == 0:
        return Outcome(Status.PASS, "No personal-data breaches in the last year.",
                       (Evidence("0 personal-data breach incidents", "incidents", 0, (), ctx.now),))
    evidence = []
    if n_overdue:
        ids = _ids(ctx, "breach_overdue")
        evidence.append(Evidence(f"{plural(n_overdue, 'breach', 'breaches')} past 72 hours with no authority "
                                 "notification recorded", "incidents", n_overdue, ids, ctx.now))
    if n_late:
        ids = _ids(ctx, "breach_late")
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
    _ReviewCols(ctx)  # Unavailable when incidents lack these fields
    counts = await _counts(ctx)
    days = ctx.thresholds.review_due_days
    total, n_missing = counts["major_resolved"], counts["review_due"]
    if total == 0:
        return Outcome(Status.PASS, "No resolved P1 or P2 incidents need a review.",
                       (Evidence("0 resolved P1/P2 incidents", "incidents", 0, (), ctx.now),))
    if n_missing == 0:
        return Outcome(Status.PASS, f"Every resolved P1/P2 incident has a review or is within {days} days.",
                       (Evidence(f"{total} resolved P1/P2 incidents reviewed or within {days} days", "incidents",
                                 total, (), ctx.now),))
    ids = _ids(ctx, "review_due")
    return Outcome(Status.FAIL, f"{plural(n_missing, 'resolved P1/P2 incident')} without a written review.",
                   (Evidence(f"{plural(n_missing, 'P1/P2 incident')} resolved over {days} days ago with no "
                             "lessons learned recorded", "incidents", n_missing, ids, ctx.now),))
