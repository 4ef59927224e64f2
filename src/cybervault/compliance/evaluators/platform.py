"""Evaluators over platform data: API key rotation, alerting, the audit log."""

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
    optional_model,
    plural,
    require_model,
)


@evaluator("key_rotation")
async def key_rotation(ctx: EvaluationContext) -> Outcome:
    key = require_model("cybervault.keys.models", "ApiKey", what="API keys")
    days = ctx.thresholds.key_max_age_days
    active = and_(*ctx.tenant(key), key.revoked_at.is_(None),
                  or_(key.expires_at.is_(None), key.expires_at > ctx.now))
    no_expiry = key.expires_at.is_(None)
    too_old = key.created_at < ctx.days_ago(days)
    row = (await ctx.session.execute(
        select(func.count(), func.count().filter(no_expiry), func.count().filter(too_old),
               func.count().filter(or_(no_expiry, too_old))).where(active)
    )).one()
    total, n_no_expiry, n_old, bad = (int(v or 0) for v in row)
    if n_no_expiry == 0 and n_old == 0:
        return Outcome(Status.PASS, f"All {plural(total, 'active API key')} expire and are under {days} days old.",
                       (Evidence(f"{total} active keys, none without expiry or older than {days} days",
                                 "api_keys", total, (), ctx.now),))
    evidence = []
    if n_no_expiry:
        ids = tuple((await ctx.session.scalars(
            select(key.id).where(active, no_expiry).order_by(key.created_at).limit(20))).all())
        evidence.append(Evidence(f"{plural(n_no_expiry, 'active key')} without an expiry date", "api_keys",
                                 n_no_expiry, ids, ctx.now))
    if n_old:
        ids = tuple((await ctx.session.scalars(
            select(key.id).where(active, too_old).order_by(key.created_at).limit(20))).all())
        evidence.append(Evidence(f"{plural(n_old, 'active key')} created more than {days} days ago", "api_keys",
                                 n_old, ids, ctx.now, {"max_age_days": days}))
    return Outcome(Status.FAIL, f"{plural(bad, 'active API key')} of {total} need rotation or an expiry.",
                   tuple(evidence))


async def _count_enabled(ctx: EvaluationContext, model: Any) -> tuple[int, tuple[str, ...]]:
    conditions: list[Any] = []
    status = column(model, "status", required=False)
    enabled = column(model, "enabled", "active", required=False)
    deleted = column(model, "deleted_at", required=False)
    if status is not None:
        conditions.append(status.in_(("enabled", "active")))
    elif enabled is not None:
        conditions.append(enabled.is_(True))
    if deleted is not None:
        conditions.append(deleted.is_(None))
    n = int(await ctx.session.scalar(
        select(func.count()).select_from(model).where(*ctx.tenant(model), *conditions)) or 0)
    ids = await ctx.sample_ids(model, *conditions) if n else ()
    return n, ids


@evaluator("alerting")
async def alerting(ctx: EvaluationContext) -> Outcome:
    endpoint = optional_model("cybervault.webhooks.models", "WebhookEndpoint", "Endpoint")
    channel = optional_model("cybervault.incidents.models", "NotificationChannel", "Channel")
    if endpoint is None and channel is None:
        raise Unavailable("Webhook endpoints and notification channels are not available in this installation yet.")
    evidence = []
    configured = 0
    for model, noun, source in ((endpoint, "enabled webhook endpoint", "webhook_endpoints"),
                                (channel, "enabled notification channel", "notification_channels")):
        if model is None:
            continue
        n, ids = await _count_enabled(ctx, model)
        configured += n
        evidence.append(Evidence(plural(n, noun), source, n, ids, ctx.now))
    if configured == 0:
        return Outcome(Status.FAIL, "No webhook endpoint or notification channel is enabled.", tuple(evidence))
    days = ctx.thresholds.alert_delivery_days
    delivered, last = await _recent_successful_delivery(ctx, days)
    if delivered is None:
        return Outcome(Status.PASS, f"{plural(configured, 'alert destination')} enabled.", tuple(evidence))
    evidence.append(Evidence(f"{plural(delivered, 'successful delivery', 'successful deliveries')} in the last "
                             f"{days} days", "webhook_deliveries", delivered, (), last))
    if delivered == 0:
        return Outcome(Status.PARTIAL, f"Alert destinations are enabled but nothing was delivered in {days} days.",
                       tuple(evidence))
    return Outcome(Status.PASS, f"{plural(configured, 'alert destination')} enabled and delivering.",
                   tuple(evidence))


async def _recent_successful_delivery(ctx: EvaluationContext, days: int) -> tuple[int | None, Any]:
    """(successful deliveries in the window, time of the last one); (None, None) if not recorded."""
    delivery = optional_model("cybervault.webhooks.models", "WebhookDelivery", "Delivery")
    if delivery is None or "org_id" not in delivery.__table__.columns:
        return None, None
    status = column(delivery, "status", required=False)
    when = column(delivery, "delivered_at", "succeeded_at", "last_attempt_at", "updated_at", "created_at",
                  required=False)
    if status is None or when is None:
        return None, None
    ok = status.in_(("succeeded", "delivered", "success"))
    row = (await ctx.session.execute(
        select(func.count(), func.max(when)).where(*ctx.tenant(delivery), ok, when >= ctx.days_ago(days))
    )).one()
    return int(row[0] or 0), row[1]


@evaluator("audit_log")
async def audit_log(ctx: EvaluationContext) -> Outcome:
    log = require_model("cybervault.audit.models", "AuditLog", what="Audit logs")
    days = ctx.thresholds.audit_recent_days
    row = (await ctx.session.execute(
        select(func.count(), func.min(log.created_at), func.max(log.created_at)).where(*ctx.tenant(log))
    )).one()
    total, oldest, newest = int(row[0] or 0), row[1], row[2]
    if total == 0:
        return Outcome(Status.NOT_ASSESSED, "No activity has been recorded yet, so logging cannot be shown.",
                       (Evidence("0 audit log entries", "audit_logs", 0, (), ctx.now),))
    details = {"oldest": oldest.isoformat() if oldest else None, "retained_days": (ctx.now - oldest).days}
    ids = tuple((await ctx.session.scalars(
        select(log.id).where(*ctx.tenant(log)).order_by(log.id.desc()).limit(5))).all())
    if newest is not None and newest >= ctx.days_ago(days):
        return Outcome(Status.PASS, f"Audit log holds {plural(total, 'entry', 'entries')}, latest within {days} days.",
                       (Evidence(f"{plural(total, 'audit log entry', 'audit log entries')}", "audit_logs", total,
                                 ids, newest, details),))
    return Outcome(Status.PARTIAL, f"No audit log entries in the last {days} days.",
                   (Evidence(f"{plural(total, 'audit log entry', 'audit log entries')}, none recent", "audit_logs",
                             total, ids, newest, details),))
