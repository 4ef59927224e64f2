"""Tenant isolation in one place: every query a repository builds is filtered by org and mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.auth import Principal
from cybervault.kit.errors import ResourceNotFound
from cybervault.kit.pagination import PageParams, paginate

M = TypeVar("M")


class TenantRepository(Generic[M]):
    """Subclass with `model = YourModel` and `noun = "incident"`.

    An id that belongs to another org or the other mode is indistinguishable from an id that does
    not exist: both raise ResourceNotFound.
    """

    model: ClassVar[type[Any]]
    noun: ClassVar[str] = "object"

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def select(self, *entities: Any) -> Select[Any]:
        stmt = select(*entities) if entities else select(self.model)
        return stmt.where(
            self.model.org_id == self.principal.org_id,
            self.model.livemode == self.principal.livemode,
        )

    async def find(self, object_id: str) -> M | None:
        return (await self.session.scalars(self.select().where(self.model.id == object_id))).first()

    async def get(self, object_id: str, *, for_update: bool = False) -> M:
        stmt = self.select().where(self.model.id == object_id)
        if for_update and self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await self.session.scalars(stmt)).first()
        if row is None:
            raise ResourceNotFound(f"No such {self.noun}: '{object_id}'", param="id")
        return row

    def add(self, obj: M) -> M:
        obj.org_id = self.principal.org_id  # type: ignore[attr-defined]
        obj.livemode = self.principal.livemode  # type: ignore[attr-defined]
        self.session.add(obj)
        return obj

    async def page(
        self, params: PageParams, render: Callable[[M], dict[str, Any]], stmt: Select[Any] | None = None
    ) -> dict[str, Any]:
        return await paginate(self.session, stmt if stmt is not None else self.select(), self.model.id,
                              params, render)
