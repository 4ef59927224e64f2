"""HTTP routes for incidents, notification channels, triage rules and triage settings (thin: parse, call, shape)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings
from cybervault.incidents import channel_service, rules, service
from cybervault.incidents.render import (
    render_channel,
    render_comment,
    render_incident,
    render_rule,
    render_timeline_entry,
)
from cybervault.incidents.repository import ChannelRepository, IncidentRepository, TriageRuleRepository
from cybervault.incidents.schemas import (
    PRIORITIES,
    SEVERITIES,
    ChannelCreate,
    ChannelUpdate,
    CommentCreate,
    IncidentCreate,
    IncidentUpdate,
    TriageRuleCreate,
    TriageRuleUpdate,
    TriageSettingsUpdate,
)
from cybervault.incidents.service import TRANSITIONS
from cybervault.kit.auth import Principal, require
from cybervault.kit.deps import app_settings, db_session
from cybervault.kit.errors import InvalidRequest
from cybervault.kit.pagination import PageParams, page_params
from cybervault.kit.time import parse_iso

router = APIRouter(tags=["incidents"])


def _choice(value: str | None, allowed: tuple[str, ...], param: str) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidRequest(f"'{param}' must be one of: {', '.join(allowed)}.", param=param)
    return value


def _time(value: str | None, param: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidRequest(f"'{param}' must be an ISO-8601 timestamp like 2025-01-15T08:32:11Z.",
                             param=param) from None


# ---- incidents ----------------------------------------------------------------------------------
@router.post("/v1/incidents", status_code=201, summary="Create an incident (runs triage inline)",
             responses={200: {"description": "An open incident with this external_id exists; it is returned"}})
async def create_incident(body: IncidentCreate, principal: Principal = Depends(require("incidents:write")),
                          session: AsyncSession = Depends(db_session)) -> Any:
    incident, created = await service.create_incident(session, principal, body)
    await session.commit()
    rendered = render_incident(incident)
    # A repeated external_id while the first incident is open returns that incident, not a duplicate.
    return rendered if created else JSONResponse(rendered, status_code=200)


@router.get("/v1/incidents", summary="List incidents")
async def list_incidents(
    params: PageParams = Depends(page_params),
    status: str | None = Query(None), severity: str | None = Query(None), priority: str | None = Query(None),
    assignee: str | None = Query(None), tag: str | None = Query(None),
    created_gte: str | None = Query(None, alias="created[gte]"),
    created_lte: str | None = Query(None, alias="created[lte]"),
    created_gte_flat: str | None = Query(None, alias="created_gte"),
    created_lte_flat: str | None = Query(None, alias="created_lte"),
    principal: Principal = Depends(require("incidents:read")), session: AsyncSession = Depends(db_session),
) -> dict[str, Any]:
    return await IncidentRepository(session, principal).list(
        params, render_incident,
        status=_choice(status, tuple(TRANSITIONS), "status"), severity=_choice(severity, SEVERITIES, "severity"),
        priority=_choice(priority, PRIORITIES, "priority"), assignee=assignee, tag=tag,
        created_gte=_time(created_gte or created_gte_flat, "created[gte]"),
        created_lte=_time(created_lte or created_lte_flat, "created[lte]"))


@router.get("/v1/incidents/{incident_id}", summary="Retrieve an incident")
async def get_incident(incident_id: str, principal: Principal = Depends(require("incidents:read")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return render_incident(await IncidentRepository(session, principal).get(incident_id))


@router.patch("/v1/incidents/{incident_id}", summary="Update status, severity (re-triages), assignee, resolution")
async def update_incident(incident_id: str, body: IncidentUpdate,
                          principal: Principal = Depends(require("incidents:write")),
                          session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    incident = await service.update_incident(session, principal, incident_id, body)
    await session.commit()
    return render_incident(incident)


@router.post("/v1/incidents/{incident_id}/comments", status_code=201, summary="Comment on an incident")
async def create_comment(incident_id: str, body: CommentCreate,
                         principal: Principal = Depends(require("incidents:write")),
                         session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    comment = await service.add_comment(session, principal, incident_id, body)
    await session.commit()
    return render_comment(comment)


@router.get("/v1/incidents/{incident_id}/comments", summary="List an incident's comments")
async def list_comments(incident_id: str, params: PageParams = Depends(page_params),
                        principal: Principal = Depends(require("incidents:read")),
                        session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    repo = IncidentRepository(session, principal)
    incident = await repo.get(incident_id)
    return await repo.comments(incident.id, params, render_comment)


@router.get("/v1/incidents/{incident_id}/timeline", summary="Every change to an incident, with actor and time")
async def get_timeline(incident_id: str, params: PageParams = Depends(page_params),
                       principal: Principal = Depends(require("incidents:read")),
                       session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    repo = IncidentRepository(session, principal)
    incident = await repo.get(incident_id)
    return await repo.timeline(incident.id, params, render_timeline_entry)


# ---- notification channels ----------------------------------------------------------------------
@router.post("/v1/notification_channels", status_code=201, tags=["notification_channels"],
             summary="Create a notification channel")
async def create_channel(body: ChannelCreate, principal: Principal = Depends(require("notification_channels:write")),
                         session: AsyncSession = Depends(db_session),
                         settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    rendered = await channel_service.create_channel(session, principal, body, settings)
    await session.commit()
    return rendered


@router.get("/v1/notification_channels", tags=["notification_channels"], summary="List notification channels")
async def list_channels(request: Request, params: PageParams = Depends(page_params),
                        principal: Principal = Depends(require("notification_channels:read")),
                        session: AsyncSession = Depends(db_session),
                        settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    def render(channel: Any) -> dict[str, Any]:
        return render_channel(channel, channel_service.decrypt_credentials(settings, channel))

    return await ChannelRepository(session, principal).page(params, render)


@router.get("/v1/notification_channels/{channel_id}", tags=["notification_channels"],
            summary="Retrieve a notification channel")
async def get_channel(channel_id: str, principal: Principal = Depends(require("notification_channels:read")),
                      session: AsyncSession = Depends(db_session),
                      settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    return await channel_service.get_channel(session, principal, channel_id, settings)


@router.patch("/v1/notification_channels/{channel_id}", tags=["notification_channels"],
              summary="Update a notification channel")
async def update_channel(channel_id: str, body: ChannelUpdate,
                         principal: Principal = Depends(require("notification_channels:write")),
                         session: AsyncSession = Depends(db_session),
                         settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    rendered = await channel_service.update_channel(session, principal, channel_id, body, settings)
    await session.commit()
    return rendered


@router.delete("/v1/notification_channels/{channel_id}", tags=["notification_channels"],
               summary="Delete a notification channel")
async def delete_channel(channel_id: str, principal: Principal = Depends(require("notification_channels:write")),
                         session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    result = await channel_service.delete_channel(session, principal, channel_id)
    await session.commit()
    return result


@router.post("/v1/notification_channels/{channel_id}/test", tags=["notification_channels"],
             summary="Send a test message through a channel now")
async def test_channel(channel_id: str, principal: Principal = Depends(require("notification_channels:write")),
                       session: AsyncSession = Depends(db_session),
                       settings: Settings = Depends(app_settings)) -> dict[str, Any]:
    return await channel_service.send_test(session, principal, channel_id, settings)


@router.get("/v1/notification_channels/{channel_id}/deliveries", tags=["notification_channels"],
            summary="A channel's deliveries with their attempts")
async def list_channel_deliveries(channel_id: str, params: PageParams = Depends(page_params),
                                  status: str | None = Query(None),
                                  principal: Principal = Depends(require("notification_channels:read")),
                                  session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    status = _choice(status, ("pending", "succeeded", "failed"), "status")
    return await channel_service.list_deliveries(session, principal, channel_id, params, status)


# ---- triage rules and settings ------------------------------------------------------------------
@router.post("/v1/triage_rules", status_code=201, tags=["triage_rules"], summary="Create a triage rule")
async def create_rule(body: TriageRuleCreate, principal: Principal = Depends(require("triage_rules:write")),
                      session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    rule = await rules.create_rule(session, principal, body)
    await session.commit()
    return render_rule(rule)


@router.get("/v1/triage_rules", tags=["triage_rules"], summary="List triage rules in evaluation order")
async def list_rules(request: Request, principal: Principal = Depends(require("triage_rules:read")),
                     session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await rules.list_rules(session, principal, request.url.path)


@router.get("/v1/triage_rules/{rule_id}", tags=["triage_rules"], summary="Retrieve a triage rule")
async def get_rule(rule_id: str, principal: Principal = Depends(require("triage_rules:read")),
                   session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return render_rule(await TriageRuleRepository(session, principal).get(rule_id))


@router.patch("/v1/triage_rules/{rule_id}", tags=["triage_rules"], summary="Update a triage rule")
async def update_rule(rule_id: str, body: TriageRuleUpdate,
                      principal: Principal = Depends(require("triage_rules:write")),
                      session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    rule = await rules.update_rule(session, principal, rule_id, body)
    await session.commit()
    return render_rule(rule)


@router.delete("/v1/triage_rules/{rule_id}", tags=["triage_rules"], summary="Delete a triage rule")
async def delete_rule(rule_id: str, principal: Principal = Depends(require("triage_rules:write")),
                      session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    result = await rules.delete_rule(session, principal, rule_id)
    await session.commit()
    return result


@router.get("/v1/triage_settings", tags=["triage_rules"], summary="SLA targets per priority")
async def get_triage_settings(principal: Principal = Depends(require("triage_rules:read")),
                              session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    return await rules.get_settings(session, principal)


@router.post("/v1/triage_settings", tags=["triage_rules"], summary="Change SLA targets per priority")
async def update_triage_settings(body: TriageSettingsUpdate,
                                 principal: Principal = Depends(require("triage_rules:write")),
                                 session: AsyncSession = Depends(db_session)) -> dict[str, Any]:
    result = await rules.update_settings(session, principal, body)
    await session.commit()
    return result
