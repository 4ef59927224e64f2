"""Asset rules: targets are validated and normalized; one asset per target in an org and mode."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.assets.models import Asset
from cybervault.assets.repository import AssetRepository
from cybervault.assets.schemas import AssetCreate, AssetUpdate
from cybervault.assets.targets import ParsedTarget, parse_target
from cybervault.kit.auth import Principal
from cybervault.kit.errors import Conflict, InvalidTarget
from cybervault.kit.ids import new_id
from cybervault.kit.pagination import PageParams
from cybervault.kit.time import iso, utcnow


def render_asset(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "object": "asset",
        "livemode": asset.livemode,
        "target": asset.target,
        "kind": asset.kind,
        "name": asset.name,
        "tags": list(asset.tags or []),
        "criticality": asset.criticality,
        "environment": asset.environment,
        "owner": asset.owner,
        "last_scanned_at": iso(asset.last_scanned_at),
        "created": iso(asset.created_at),
        "updated": iso(asset.updated_at),
    }


def _parse(value: str) -> ParsedTarget:
    try:
        return parse_target(value)
    except ValueError as exc:
        raise InvalidTarget(f"Invalid 'target': {exc}.", param="target") from None


def _duplicate(existing: Asset) -> Conflict:
    return Conflict(
        f"An asset for target '{existing.target}' already exists: '{existing.id}'. Update that asset instead.",
        param="target", extra={"existing_id": existing.id},
    )


async def _flush_unique(session: AsyncSession, repo: AssetRepository, target: str) -> None:
    """Flush; a concurrent insert of the same target loses with the same 409 as a sequential one."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        existing = await repo.by_target(target)
        if existing is None:
            raise
        raise _duplicate(existing) from None


async def create_asset(session: AsyncSession, principal: Principal, body: AssetCreate) -> Asset:
    repo = AssetRepository(session, principal)
    target = _parse(body.target)
    existing = await repo.by_target(target.text)
    if existing is not None:
        raise _duplicate(existing)
    now = utcnow()
    asset = repo.add(Asset(
        id=new_id("ast"), target=target.text, kind=target.kind, name=body.name, tags=body.tags,
        criticality=body.criticality, environment=body.environment, owner=body.owner,
        created_at=now, updated_at=now,
    ))
    await _flush_unique(session, repo, target.text)
    return asset


async def list_assets(session: AsyncSession, principal: Principal, params: PageParams, *, tag: str | None,
                      criticality: str | None, environment: str | None) -> dict[str, Any]:
    repo = AssetRepository(session, principal)
    stmt = repo.filtered(tag=tag, criticality=criticality, environment=environment)
    return await repo.page(params, render_asset, stmt)


async def get_asset(session: AsyncSession, principal: Principal, asset_id: str) -> Asset:
    return await AssetRepository(session, principal).get(asset_id)


async def update_asset(session: AsyncSession, principal: Principal, asset_id: str, body: AssetUpdate) -> Asset:
    repo = AssetRepository(session, principal)
    asset = await repo.get(asset_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("target") is not None:
        target = _parse(changes.pop("target"))
        if target.text != asset.target:
            existing = await repo.by_target(target.text)
            if existing is not None:
                raise _duplicate(existing)
            asset.target, asset.kind = target.text, target.kind
    changes.pop("target", None)
    if "criticality" in changes and changes["criticality"] is None:
        changes.pop("criticality")  # criticality always has a value
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    for field, value in changes.items():
        setattr(asset, field, value)
    asset.updated_at = utcnow()
    await _flush_unique(session, repo, asset.target)
    return asset


async def delete_asset(session: AsyncSession, principal: Principal, asset_id: str) -> dict[str, Any]:
    repo = AssetRepository(session, principal)
    asset = await repo.get(asset_id)
    await session.delete(asset)
    await session.flush()
    return {"id": asset_id, "object": "asset", "deleted": True}
