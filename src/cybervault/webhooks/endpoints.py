"""/v1/webhook_endpoints and /v1/webhook_deliveries."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import app_settings, db_session
from cybervault.kit.pagination import PageParams, page_params
from cybervault.webhooks import service
from cybervault.webhooks.repository import WebhookEndpointRepository
from cybervault.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate

router = APIRouter(tags=["webhooks"])


@router.post("/v1/webhook_endpoints", status_code=201, summary="Create a webhook endpoint (returns its secret)")
async def create_webhook_endpoint(body: WebhookEndpointCreate,
                                  principal: Principal = Depends(require("webhooks:write")),
                                  session: AsyncSession = Depends(db_session),
                                  settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    endpoint, secret = await service.create_endpoint(session, principal, body, settings)
    await session.commit()
    return service.render_endpoint(endpoint, secret=secret)


@router.get("/v1/webhook_endpoints", summary="List webhook endpoints")
async def list_webhook_endpoints(params: PageParams = Depends(page_params),
                                 principal: Principal = Depends(require("webhooks:read")),
                                 session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await WebhookEndpointRepository(session, principal).page(params, service.render_endpoint)


@router.get("/v1/webhook_endpoints/{endpoint_id}", summary="Retrieve a webhook endpoint")
async def get_webhook_endpoint(endpoint_id: str, principal: Principal = Depends(require("webhooks:read")),
                               session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return service.render_endpoint(await WebhookEndpointRepository(session, principal).get(endpoint_id))


@router.patch("/v1/webhook_endpoints/{endpoint_id}", summary="Update a webhook endpoint")
async def update_webhook_endpoint(endpoint_id: str, body: WebhookEndpointUpdate,
                                  principal: Principal = Depends(require("webhooks:write")),
                                  session: AsyncSession = Depends(db_session),
                                  settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    endpoint = await service.update_endpoint(session, principal, endpoint_id, body, settings)
    await session.commit()
    return service.render_endpoint(endpoint)


@router.delete("/v1/webhook_endpoints/{endpoint_id}", summary="Delete a webhook endpoint")
async def delete_webhook_endpoint(endpoint_id: str, principal: Principal = Depends(require("webhooks:write")),
                                  session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    await service.delete_endpoint(session, principal, endpoint_id)
    await session.commit()
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


@router.get("/v1/webhook_endpoints/{endpoint_id}/secret", summary="Reveal the endpoint's signing secret")
async def get_webhook_endpoint_secret(endpoint_id: str, principal: Principal = Depends(require("webhooks:write")),
                                      session: AsyncSession = Depends(db_session),
                                      settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    return await service.reveal_secret(session, principal, endpoint_id, settings)


@router.post("/v1/webhook_endpoints/{endpoint_id}/rotate_secret",
             summary="New secret; the old one keeps signing for 24 hours")
async def rotate_webhook_endpoint_secret(endpoint_id: str, principal: Principal = Depends(require("webhooks:write")),
                                         session: AsyncSession = Depends(db_session),
                                         settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    endpoint, secret = await service.rotate_secret(session, principal, endpoint_id, settings)
    await session.commit()
    return service.render_endpoint(endpoint, secret=secret)


@router.post("/v1/webhook_endpoints/{endpoint_id}/test", status_code=202,
             summary="Send a webhook.test event to this endpoint")
async def test_webhook_endpoint(endpoint_id: str, principal: Principal = Depends(require("webhooks:write")),
                                session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    delivery = await service.send_test(session, principal, endpoint_id)
    await session.commit()
    return service.render_delivery(delivery)


@router.get("/v1/webhook_endpoints/{endpoint_id}/deliveries", summary="List an endpoint's deliveries")
async def list_webhook_deliveries(endpoint_id: str, params: PageParams = Depends(page_params),
                                  status: Literal["pending", "succeeded", "failed"] | None = Query(None),
                                  event: str | None = Query(None, description="Only deliveries of this event id"),
                                  principal: Principal = Depends(require("webhooks:read")),
                                  session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await service.list_deliveries(session, principal, endpoint_id, params, status, event)


@router.get("/v1/webhook_deliveries/{delivery_id}", summary="Retrieve a delivery with its attempts")
async def get_webhook_delivery(delivery_id: str, principal: Principal = Depends(require("webhooks:read")),
                               session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await service.delivery_with_attempts(session, principal, delivery_id)


@router.post("/v1/webhook_deliveries/{delivery_id}/retry", status_code=202, summary="Retry a delivery now")
async def retry_webhook_delivery(delivery_id: str, principal: Principal = Depends(require("webhooks:write")),
                                 session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    delivery = await service.retry_delivery(session, principal, delivery_id)
    await session.commit()
    return service.render_delivery(delivery)
