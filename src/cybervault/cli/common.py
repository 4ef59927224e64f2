"""Helpers shared by CLI commands: settings and a database session for one command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.config import Settings, get_settings
from cybervault.kit.db import Database

T = TypeVar("T")


def run_with_session(func: Callable[[AsyncSession, Settings], Awaitable[T]]) -> T:
    settings = get_settings()

    async def runner() -> T:
        db = Database(settings.database_url, pool_size=2)
        try:
            async with db.session() as session:
                result = await func(session, settings)
                await session.commit()
                return result
        finally:
            await db.dispose()

    return asyncio.run(runner())
