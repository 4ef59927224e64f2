"""Triage rules (ordered match → actions) and per-org triage settings (SLA targets per priority)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.incidents.models import TriageRule, TriageSettings
from cybervault.incidents.render import render_rule
from cybervault.incidents.repository import ChannelRepository, TriageRuleRepository
from cybervault.incidents.schemas import RuleActions, TriageRuleCreate, TriageRuleUpdate, TriageSettingsUpdate
from cybervault.incidents.triage import sla_minutes
from cybervault.kit.auth import Principal
from cybervault.kit.db import utcnow
from cybervault.kit.errors import InvalidRequest
from cybervault.kit.ids import PREFIXES, new_id
from cybervault.kit.time import iso


def _conditions(model: Any) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


async def _check_channels(session: AsyncSession, principal: Principal, actions: RuleActions) -> None:
    wanted = list(actions.channels or [])
    found = await ChannelRepository(session, principal).existing_ids(wanted)
    for index, channel_id in enumerate(wanted):
        if channel_id not in found:
            raise InvalidRequest(f"No such notification channel: '{channel_id}'.",
                                 param=f"actions.channels[{index}]")


async def create_rule(session: AsyncSession, principal: Principal, body: TriageRuleCreate) -> TriageRule:
    repo = TriageRuleRepository(session, principal)
    await _check_channels(session, principal, body.actions)
    now = utcnow()
    position = body.position if body.position is not None else await repo.next_position()
    rule = TriageRule(id=new_id(PREFIXES["triage_rule"]), name=body.name, position=position, enabled=body.enabled,
                      conditions=_conditions(body.conditions), actions=_conditions(body.actions),
                      stop_processing=body.stop_processing, created_at=now, updated_at=now)
    repo.add(rule)
    await session.flush()
    return rule


async def update_rule(session: AsyncSession, principal: Principal, rule_id: str, body: TriageRuleUpdate) -> TriageRule:
    rule = await TriageRuleRepository(session, principal).get(rule_id, for_update=True)
    fields = body.model_fields_set
    if not fields:
        raise InvalidRequest("Nothing to update: give at least one field.")
    for name in ("name", "position", "enabled", "stop_processing", "conditions", "actions"):
        if name in fields and getattr(body, name) is None and name != "name":
            raise InvalidRequest(f"'{name}' cannot be null.", param=name)
    if body.actions is not None:
        await _check_channels(session, principal, body.actions)
        rule.actions = _conditions(body.actions)
    if body.conditions is not None:
        rule.conditions = _conditions(body.conditions)
    for name in ("name", "position", "enabled", "stop_processing"):
        if name in fields and getattr(body, name) is not None:
            setattr(rule, name, getattr(body, name))
    rule.updated_at = utcnow()
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, principal: Principal, rule_id: str) -> dict[str, Any]:
    rule = await TriageRuleRepository(session, principal).get(rule_id)
    await session.delete(rule)
    await session.flush()
    return {"id": rule_id, "object": "triage_rule", "deleted": True}


async def list_rules(session: AsyncSession, principal: Principal, url: str) -> dict[str, Any]:
    """Rules in evaluation order (position, then age); at most 200 per org and mode are evaluated."""
    rules = await TriageRuleRepository(session, principal).ordered()
    return {"object": "list", "url": url, "has_more": False, "data": [render_rule(r) for r in rules]}


async def get_settings(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    row = await session.get(TriageSettings, (principal.org_id, principal.livemode))
    return {"object": "triage_settings", "livemode": principal.livemode,
            "sla": await sla_minutes(session, principal), "updated": iso(row.updated_at) if row else None}


async def update_settings(session: AsyncSession, principal: Principal, body: TriageSettingsUpdate) -> dict[str, Any]:
    row = await session.get(TriageSettings, (principal.org_id, principal.livemode))
    if row is None:
        row = TriageSettings(org_id=principal.org_id, livemode=principal.livemode, sla={}, updated_at=utcnow())
        session.add(row)
    merged = dict(row.sla or {})
    merged.update({p: target.model_dump() for p, target in body.sla.items()})
    row.sla = merged
    row.updated_at = utcnow()
    await session.flush()
    return await get_settings(session, principal)
