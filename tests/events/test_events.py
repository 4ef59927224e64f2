"""GET /v1/events: filters, tenant and mode isolation, scopes, retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from cybervault.events.models import Event
from cybervault.jobs.service import enqueue
from tests.helpers import OrgKeys, poll_until
from tests.webhooks.conftest import emit


async def test_list_filters_by_type_and_prefix(org: OrgKeys) -> None:
    created = await emit(org.app, org.id, "incident.created")
    resolved = await emit(org.app, org.id, "incident.resolved")
    scan = await emit(org.app, org.id, "scan.completed", obj={"id": "sc_1", "object": "scan"})

    everything = (await org.live.get("/v1/events")).json()
    assert [e["id"] for e in everything["data"]] == [scan, resolved, created]  # newest first
    assert everything["object"] == "list" and everything["url"] == "/v1/events"
    one = (await org.live.get("/v1/events", params={"type": "incident.resolved"})).json()["data"]
    assert [e["id"] for e in one] == [resolved]
    prefix = (await org.live.get("/v1/events", params={"type": "incident.*"})).json()["data"]
    assert [e["id"] for e in prefix] == [resolved, created]
    several = (await org.live.get("/v1/events", params={"type": "scan.completed,incident.created"})).json()["data"]
    assert [e["id"] for e in several] == [scan, created]

    bad = await org.live.get("/v1/events", params={"type": "incident.exploded"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "type"


async def test_created_range_filters(org: OrgKeys) -> None:
    old = await emit(org.app, org.id)
    async with org.app.state.db.session() as session:
        await session.execute(update(Event).where(Event.id == old).values(
            created_at=dt.datetime(2025, 1, 15, 8, 0, tzinfo=dt.UTC)))
        await session.commit()
    new = await emit(org.app, org.id)

    recent = (await org.live.get("/v1/events", params={"created[gte]": "2025-06-01T00:00:00Z"})).json()["data"]
    assert [e["id"] for e in recent] == [new]
    before = (await org.live.get("/v1/events", params={"created[lt]": "2025-06-01T00:00:00Z"})).json()["data"]
    assert [e["id"] for e in before] == [old]
    assert before[0]["created"] == "2025-01-15T08:00:00Z"
    window = {"created[gte]": str(int(dt.datetime(2025, 1, 15, tzinfo=dt.UTC).timestamp())),
              "created[lte]": "2025-01-16T00:00:00Z"}
    assert [e["id"] for e in (await org.live.get("/v1/events", params=window)).json()["data"]] == [old]

    bad = await org.live.get("/v1/events", params={"created[gte]": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "created[gte]"


async def test_get_one_and_isolation(org: OrgKeys, other_org: OrgKeys) -> None:
    event_id = await emit(org.app, org.id, "compliance.changed", obj={"id": "soc2:CC7.1", "status": "gap"})
    body = (await org.live.get(f"/v1/events/{event_id}")).json()
    assert body == {"id": event_id, "object": "event", "type": "compliance.changed", "created": body["created"],
                    "livemode": True, "data": {"object": {"id": "soc2:CC7.1", "status": "gap"}}}
    assert body["created"].endswith("Z")
    assert (await org.test.get(f"/v1/events/{event_id}")).status_code == 404  # other mode
    assert (await other_org.live.get(f"/v1/events/{event_id}")).status_code == 404  # other org
    assert all(e["id"] != event_id for e in (await other_org.live.get("/v1/events")).json()["data"])


async def test_scopes(org: OrgKeys) -> None:
    event_id = await emit(org.app, org.id)
    reader = org.client_for(await org.make_key(kind="rk", scopes=["events:read"]))
    outsider = org.client_for(await org.make_key(kind="rk", scopes=["webhooks:read"]))
    try:
        assert (await reader.get(f"/v1/events/{event_id}")).status_code == 200
        denied = await outsider.get("/v1/events")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_permissions"
    finally:
        await reader.aclose()
        await outsider.aclose()


async def test_retention_job_deletes_old_events(org: OrgKeys, app: Any) -> None:
    old = await emit(org.app, org.id)
    kept = await emit(org.app, org.id)
    days = app.state.settings.event_retention_days
    async with app.state.db.session() as session:
        await session.execute(update(Event).where(Event.id == old).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days + 1)))
        enqueue(session, "events.prune", {})
        await session.commit()

    async def gone() -> bool:
        return (await org.live.get(f"/v1/events/{old}")).status_code == 404

    await poll_until(gone, message="old event pruned")
    assert (await org.live.get(f"/v1/events/{kept}")).status_code == 200
