"""Tenant-scoped event queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, or_

from cybervault.events.models import Event
from cybervault.kit.repository import TenantRepository


class EventRepository(TenantRepository[Event]):
    model = Event
    noun = "event"

    def filtered(self, *, types: list[str], created: dict[str, dt.datetime]) -> Select[Any]:
        stmt = self.select()
        exact = [t for t in types if not t.endswith(".*")]
        prefixes = [t[:-1] for t in types if t.endswith(".*")]
        if types:
            clauses = [Event.type.in_(exact)] if exact else []
            clauses += [Event.type.startswith(p) for p in prefixes]
            stmt = stmt.where(or_(*clauses))
        bounds = {"gte": Event.created_at.__ge__, "gt": Event.created_at.__gt__,
                  "lte": Event.created_at.__le__, "lt": Event.created_at.__lt__}
        for op, value in created.items():
            stmt = stmt.where(bounds[op](value))
        return stmt
