from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.assets import service
from cybervault.assets.schemas import AssetCreate, AssetUpdate
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import db_session
from cybervault.kit.pagination import PageParams, page_params

router = APIRouter(tags=["assets"])


@router.post("/v1/assets", status_code=201, summary="Register an asset (IP, CIDR or hostname)")
async def create_asset(body: AssetCreate, principal: Principal = Depends(require("assets:write")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    """`target` is normalized (CIDR host bits cleared, hostnames lower-cased). A target that already has an
    asset in this org and mode is `409 conflict` with `existing_id`; overlapping ranges are separate assets.
    Live scans may only reach addresses inside a registered asset."""
    asset = await service.create_asset(session, principal, body)
    await session.commit()
    return service.render_asset(asset)


@router.get("/v1/assets", summary="List assets")
async def list_assets(
    tag: str | None = Query(None, max_length=64),
    criticality: Literal["low", "medium", "high", "critical"] | None = None,
    environment: str | None = Query(None, max_length=64),
    params: PageParams = Depends(page_params),
    principal: Principal = Depends(require("assets:read")),
    session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    return await service.list_assets(session, principal, params, tag=tag, criticality=criticality,
                                     environment=environment)


@router.get("/v1/assets/{asset_id}", summary="Retrieve an asset")
async def get_asset(asset_id: str, principal: Principal = Depends(require("assets:read")),
                    session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return service.render_asset(await service.get_asset(session, principal, asset_id))


@router.patch("/v1/assets/{asset_id}", summary="Update an asset")
async def update_asset(asset_id: str, body: AssetUpdate, principal: Principal = Depends(require("assets:write")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    asset = await service.update_asset(session, principal, asset_id, body)
    await session.commit()
    return service.render_asset(asset)


@router.delete("/v1/assets/{asset_id}", summary="Delete an asset")
async def delete_asset(asset_id: str, principal: Principal = Depends(require("assets:write")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    result = await service.delete_asset(session, principal, asset_id)
    await session.commit()
    return result
