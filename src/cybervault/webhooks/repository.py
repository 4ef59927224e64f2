"""Tenant-scoped queries for webhook endpoints and their deliveries."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Select, select

from cybervault.kit.repository import TenantRepository
from cybervault.webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

ATTEMPTS_SHOWN = 10


class WebhookEndpointRepository(TenantRepository[WebhookEndpoint]):
    model = WebhookEndpoint
    noun = "webhook endpoint"


class WebhookDeliveryRepository(TenantRepository[Delivery]):
    model = Delivery
    noun = "webhook delivery"

    def select(self, *entities: Any) -> Select[Any]:
        return super().select(*entities).where(Delivery.target_type == "webhook_endpoint")

    def for_endpoint(self, endpoint_id: str, status: str | None = None, event_id: str | None = None) -> Select[Any]:
        stmt = self.select().where(Delivery.target_id == endpoint_id)
        if status:
            stmt = stmt.where(Delivery.status == status)
        if event_id:
            stmt = stmt.where(Delivery.event_id == event_id)
        return stmt

    async def attempts_for(self, delivery_ids: list[str]) -> dict[str, list[DeliveryAttempt]]:
        """The latest attempts of each delivery, newest first."""
        grouped: dict[str, list[DeliveryAttempt]] = defaultdict(list)
        if not delivery_ids:
            return grouped
        rows = (await self.session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids))
            .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.id.desc()))).all()
        for row in rows:
            if len(grouped[row.delivery_id]) < ATTEMPTS_SHOWN:
                grouped[row.delivery_id].append(row)
        return grouped
