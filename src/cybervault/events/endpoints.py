"""/v1/events: the record of everything that happened, as delivered to webhooks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.events.repository import EventRepository
from cybervault.events.service import EVENT_TYPES, render_event
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import db_session
from cybervault.kit.errors import InvalidRequest
from cybervault.kit.pagination import PageParams, page_params
from cybervault.kit.time import parse_iso

router = APIRouter(tags=["events"])
PREFIXES = {t.split(".")[0] for t in EVENT_TYPES}


def _types(value: str | None) -> list[str]:
    if not value:
        return []
    types = [part.strip() for part in value.split(",") if part.strip()]
    for item in types:
        if item not in EVENT_TYPES and not (item.endswith(".*") and item[:-2] in PREFIXES):
            raise InvalidRequest(f"Unknown event type '{item}'. Use one of {', '.join(EVENT_TYPES)}, "
                                 "or a prefix such as 'incident.*'.", param="type")
    return types


def _instant(value: str, param: str) -> dt.datetime:
    """ISO-8601 (2025-01-15T08:32:11Z) or unix seconds."""
    try:
        if value.lstrip("-").isdigit():
            return dt.datetime.fromtimestamp(int(value), dt.UTC)
        return parse_iso(value)
    except (ValueError, OverflowError, OSError):
        raise InvalidRequest(f"'{param}' must be an ISO-8601 time like 2025-01-15T08:32:11Z or unix seconds.",
                             param=param) from None


@router.get("/v1/events", summary="List events, newest first")
async def list_events(
    params: PageParams = Depends(page_params),
    type: str | None = Query(None, description="Event type, comma-separated types, or a prefix like incident.*"),
    created_gte: str | None = Query(None, alias="created[gte]", description="Created at or after (ISO-8601 or unix)"),
    created_gt: str | None = Query(None, alias="created[gt]", description="Created after"),
    created_lte: str | None = Query(None, alias="created[lte]", description="Created at or before"),
    created_lt: str | None = Query(None, alias="created[lt]", description="Created before"),
    principal: Principal = Depends(require("events:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    created = {op: _instant(value, f"created[{op}]") for op, value in
               (("gte", created_gte), ("gt", created_gt), ("lte", created_lte), ("lt", created_lt)) if value}
    repo = EventRepository(session, principal)
    return await repo.page(params, render_event, repo.filtered(types=_types(type), created=created))


@router.get("/v1/events/{event_id}", summary="Retrieve an event")
async def get_event(event_id: str, principal: Principal = Depends(require("events:read")),
                    session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return render_event(await EventRepository(session, principal).get(event_id))
