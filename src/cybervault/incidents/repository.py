"""Tenant-scoped queries for incidents, their comments and timeline, channels and triage rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select

from cybervault.incidents.models import (
    OPEN_STATUSES,
    Incident,
    IncidentComment,
    IncidentKey,
    NotificationChannel,
    TimelineEntry,
    TriageRule,
)
from cybervault.kit.pagination import PageParams, paginate
from cybervault.kit.repository import TenantRepository


class IncidentRepository(TenantRepository[Incident]):
    model = Incident
    noun = "incident"

    async def open_by_external_id(self, external_id: str) -> Incident | None:
        stmt = self.select().where(Incident.external_id == external_id, Incident.status.in_(OPEN_STATUSES))
        return (await self.session.scalars(stmt.order_by(Incident.id.desc()).limit(1))).first()

    async def list(self, params: PageParams, render: Callable[[Incident], dict[str, Any]], *,
                   status: str | None = None, severity: str | None = None, priority: str | None = None,
                   assignee: str | None = None, tag: str | None = None, created_gte: dt.datetime | None = None,
                   created_lte: dt.datetime | None = None) -> dict[str, Any]:
        stmt = self.select()
        for column, value in ((Incident.status, status), (Incident.severity, severity),
                              (Incident.priority, priority), (Incident.assignee, assignee)):
            if value is not None:
                stmt = stmt.where(column == value)
        if created_gte is not None:
            stmt = stmt.where(Incident.created_at >= created_gte)
        if created_lte is not None:
            stmt = stmt.where(Incident.created_at <= created_lte)
        if tag is None:
            return await self.page(params, render, stmt)
        # Tags are a JSON list; filter in Python over bounded batches (portable across SQLite and PostgreSQL).
        return await _page_filtered(self, params, render, stmt, lambda inc: tag in (inc.tags or []))

    def add_keys(self, incident: Incident, keys: list[str]) -> None:
        for value in keys:
            self.session.add(IncidentKey(incident_id=incident.id, org_id=incident.org_id,
                                         livemode=incident.livemode, value=value[:300],
                                         created_at=incident.created_at))

    async def replace_keys(self, incident: Incident, keys: list[str]) -> None:
        await self.session.execute(delete(IncidentKey).where(IncidentKey.incident_id == incident.id))
        self.add_keys(incident, keys)

    async def timeline(self, incident_id: str, params: PageParams,
                       render: Callable[[TimelineEntry], dict[str, Any]]) -> dict[str, Any]:
        stmt = select(TimelineEntry).where(TimelineEntry.org_id == self.principal.org_id,
                                           TimelineEntry.livemode == self.principal.livemode,
                                           TimelineEntry.incident_id == incident_id)
        return await paginate(self.session, stmt, TimelineEntry.id, params, render)

    async def comments(self, incident_id: str, params: PageParams,
                       render: Callable[[IncidentComment], dict[str, Any]]) -> dict[str, Any]:
        stmt = select(IncidentComment).where(IncidentComment.org_id == self.principal.org_id,
                                             IncidentComment.livemode == self.principal.livemode,
                                             IncidentComment.incident_id == incident_id)
        return await paginate(self.session, stmt, IncidentComment.id, params, render)


async def _page_filtered(repo: TenantRepository[Any], params: PageParams, render: Callable[[Any], dict[str, Any]],
                         stmt: Any, keep: Callable[[Any], bool], *, max_scan: int = 5000) -> dict[str, Any]:
    from cybervault.kit.pagination import list_object

    id_col = repo.model.id
    cursor_after, cursor_before = params.starting_after, params.ending_before
    out: list[Any] = []
    scanned = 0
    has_more = False
    while scanned < max_scan:
        batch_stmt = stmt
        if cursor_before:
            batch_stmt = batch_stmt.where(id_col > cursor_before).order_by(id_col.asc())
        else:
            if cursor_after:
                batch_stmt = batch_stmt.where(id_col < cursor_after)
            batch_stmt = batch_stmt.order_by(id_col.desc())
        rows = (await repo.session.scalars(batch_stmt.limit(200))).all()
        if not rows:
            break
        scanned += len(rows)
        for row in rows:
            if keep(row):
                if len(out) == params.limit:
                    has_more = True
                    break
                out.append(row)
        if has_more:
            break
        last = rows[-1].id
        cursor_before, cursor_after = (last, None) if cursor_before else (None, last)
        if len(rows) < 200:
            break
    if params.ending_before:
        out.reverse()
    return list_object(params.url, [render(r) for r in out], has_more)


class ChannelRepository(TenantRepository[NotificationChannel]):
    model = NotificationChannel
    noun = "notification channel"

    async def enabled(self, limit: int = 100) -> list[NotificationChannel]:
        stmt = self.select().where(NotificationChannel.status == "enabled").order_by(NotificationChannel.id)
        return list((await self.session.scalars(stmt.limit(limit))).all())

    async def existing_ids(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        return set((await self.session.scalars(self.select(NotificationChannel.id)
                                               .where(NotificationChannel.id.in_(ids)))).all())


class TriageRuleRepository(TenantRepository[TriageRule]):
    model = TriageRule
    noun = "triage rule"

    async def next_position(self) -> int:
        current = await self.session.scalar(self.select(func.max(TriageRule.position)))
        return 0 if current is None else int(current) + 1

    async def ordered(self) -> list[TriageRule]:
        stmt = self.select().order_by(TriageRule.position, TriageRule.id).limit(200)
        return list((await self.session.scalars(stmt)).all())


class ChannelDeliveryRepository(TenantRepository[Any]):
    """Deliveries of the shared engine whose target is a notification channel."""

    noun = "notification delivery"

    def __init__(self, session: Any, principal: Any) -> None:
        from cybervault.webhooks.models import Delivery

        super().__init__(session, principal)
        self.model = Delivery  # type: ignore[misc]

    def for_channel(self, channel_id: str, status: str | None = None) -> Any:
        stmt = self.select().where(self.model.target_type == "notification_channel",
                                   self.model.target_id == channel_id)
        return stmt.where(self.model.status == status) if status else stmt

    async def attempts_for(self, delivery_ids: list[str]) -> dict[str, list[Any]]:
        from cybervault.webhooks.models import DeliveryAttempt

        grouped: dict[str, list[Any]] = {}
        if not delivery_ids:
            return grouped
        rows = (await self.session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.id.desc()))).all()
        for row in rows:
            bucket = grouped.setdefault(row.delivery_id, [])
            if len(bucket) < 10:
                bucket.append(row)
        return grouped
