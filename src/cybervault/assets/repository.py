from __future__ import annotations

from typing import Any

from sqlalchemy import Select, column, exists, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from cybervault.assets.models import Asset
from cybervault.kit.repository import TenantRepository


class AssetRepository(TenantRepository[Asset]):
    model = Asset
    noun = "asset"

    async def by_target(self, target: str) -> Asset | None:
        return (await self.session.scalars(self.select().where(Asset.target == target))).first()

    async def all(self) -> list[Asset]:
        return list((await self.session.scalars(self.select().order_by(Asset.id))).all())

    def filtered(self, *, tag: str | None, criticality: str | None, environment: str | None) -> Select[Any]:
        stmt = self.select()
        if criticality:
            stmt = stmt.where(Asset.criticality == criticality)
        if environment:
            stmt = stmt.where(Asset.environment == environment)
        if tag:
            stmt = stmt.where(self._has_tag(tag))
        return stmt

    def _has_tag(self, tag: str) -> Any:
        bind = self.session.bind
        if bind is not None and bind.dialect.name == "postgresql":
            return type_coerce(Asset.tags, JSONB).contains([tag])  # JSONB @>, can use a GIN index
        values = func.json_each(Asset.tags).table_valued("value")
        return exists(select(1).select_from(values).where(column("value") == tag))
