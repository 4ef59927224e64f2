"""Fixtures for webhook tests: a receiver, an endpoint pointing at it, events recorded directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cybervault.events.service import record_event
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as server:
        yield server


async def emit(app: Any, org_id: str, type: str = "incident.created", *, livemode: bool = True,
               obj: dict[str, Any] | None = None) -> str:
    """Record one domain event the way services do (in a transaction) and return its id."""
    async with app.state.db.session() as session:
        event = record_event(session, org_id=org_id, livemode=livemode, type=type,
                             obj=obj or {"id": "inc_test", "object": "incident", "title": "Disk full ✓"})
        await session.commit()
    return event.id
