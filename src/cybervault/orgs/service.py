from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.errors import InvalidRequest, ResourceNotFound
from cybervault.kit.ids import new_id
from cybervault.orgs.models import Organization


async def create_org(session: AsyncSession, name: str, *, rate_limit_per_minute: int | None = None) -> Organization:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidRequest("Organization names are 1 to 200 characters.", param="name")
    org = Organization(id=new_id("org"), name=name, rate_limit_per_minute=rate_limit_per_minute, settings={})
    session.add(org)
    await session.flush()
    return org


async def list_orgs(session: AsyncSession) -> list[Organization]:
    return list((await session.scalars(select(Organization).order_by(Organization.id))).all())


async def get_org(session: AsyncSession, org_id: str) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None:
        raise ResourceNotFound(f"No such organization: '{org_id}'")
    return org
