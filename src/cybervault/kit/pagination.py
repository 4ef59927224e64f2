"""Cursor pagination shared by every list endpoint: newest first, keyed on time-ordered ids."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Query, Request
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.errors import InvalidRequest

T = TypeVar("T")
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class PageParams:
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    url: str = ""


def _check_cursor(value: str | None, param: str) -> str | None:
    if value is None:
        return None
    if not (1 <= len(value) <= 64) or not set(value) <= _ID_CHARS or "_" not in value:
        raise InvalidRequest(f"'{param}' must be an object id.", param=param)
    return value


# async so FastAPI runs it inline instead of hopping to a worker thread on every list request
async def page_params(
    request: Request,
    limit: int = Query(10, description="Number of objects to return, 1 to 100."),
    starting_after: str | None = Query(None, description="Object id: return objects created before it."),
    ending_before: str | None = Query(None, description="Object id: return objects created after it."),
) -> PageParams:
    if not 1 <= limit <= 100:
        raise InvalidRequest("'limit' must be between 1 and 100.", param="limit")
    if starting_after and ending_before:
        raise InvalidRequest("Use only one of 'starting_after' and 'ending_before'.", param="ending_before")
    return PageParams(
        limit=limit,
        starting_after=_check_cursor(starting_after, "starting_after"),
        ending_before=_check_cursor(ending_before, "ending_before"),
        url=request.url.path,
    )


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    id_column: Any,
    params: PageParams,
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Run `stmt` (already filtered to the caller's org and mode) one page at a time."""
    if params.ending_before:
        stmt = stmt.where(id_column > params.ending_before).order_by(id_column.asc())
    else:
        if params.starting_after:
            stmt = stmt.where(id_column < params.starting_after)
        stmt = stmt.order_by(id_column.desc())
    rows: Sequence[Any] = (await session.scalars(stmt.limit(params.limit + 1))).all()
    has_more = len(rows) > params.limit
    rows = list(rows[: params.limit])
    if params.ending_before:
        rows.reverse()
    return list_object(params.url, [render(row) for row in rows], has_more)


def list_object(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "url": url, "has_more": has_more, "data": data}
