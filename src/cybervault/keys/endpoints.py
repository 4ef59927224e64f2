"""/v1/api_keys: list, retrieve, create (the secret is returned once), revoke and roll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.keys import management, principal_cache
from cybervault.keys.schemas import ApiKeyCreate, ApiKeyRoll
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import app_settings, db_session
from cybervault.kit.pagination import PageParams, page_params

router = APIRouter(tags=["api_keys"])
KeyId = Path(..., description="The key's id (key_…).", max_length=64)


@router.get("/v1/api_keys", summary="List API keys (never their secrets)")
async def list_api_keys(params: PageParams = Depends(page_params),
                        principal: Principal = Depends(require("keys:read")),
                        session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await management.list_keys(session, principal, params)


@router.post("/v1/api_keys", status_code=201, summary="Create an API key; the secret is shown only in this response")
async def create_api_key(body: ApiKeyCreate, principal: Principal = Depends(require("keys:write")),
                         session: AsyncSession = Depends(db_session),
                         settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    key, secret = await management.create_key(session, principal, body, settings.secret_key.get_secret_value())
    await session.commit()
    return management.render_key(key, secret)


@router.get("/v1/api_keys/{key_id}", summary="Retrieve an API key")
async def get_api_key(key_id: str = KeyId, principal: Principal = Depends(require("keys:read")),
                      session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return management.render_key(await management.get_key(session, principal, key_id))


@router.post("/v1/api_keys/{key_id}/revoke", summary="Revoke an API key at once")
async def revoke_api_key(key_id: str = KeyId, principal: Principal = Depends(require("keys:write")),
                         session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    key = await management.revoke_key(session, principal, key_id)
    await session.commit()
    principal_cache.invalidate(key.id)  # after commit, so no request can re-cache the old state
    return management.render_key(key)


@router.post("/v1/api_keys/{key_id}/roll",
             summary="Replace an API key; the old one keeps working for the grace period")
async def roll_api_key(body: ApiKeyRoll | None = None, key_id: str = KeyId,
                       principal: Principal = Depends(require("keys:write")),
                       session: AsyncSession = Depends(db_session),
                       settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    grace = body.grace_period_seconds if body is not None else 0
    key, secret = await management.roll_key(session, principal, key_id, grace,
                                            settings.secret_key.get_secret_value())
    await session.commit()
    principal_cache.invalidate(key_id)  # the old key's expiry changed
    return management.render_key(key, secret)
