"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.session() as session:
        yield session


def app_settings(request: Request) -> Settings:
    return request.app.state.settings
