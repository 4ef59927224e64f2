"""Events recorded together in one transaction (a sweep, a batch) share one dispatch: each still reaches
exactly the endpoints of its own organization and mode, once, signed for that endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from standardwebhooks import Webhook

from cybervault.events.models import Event
from cybervault.events.service import DISPATCH_KIND, record_event
from cybervault.jobs.models import Job
from cybervault.jobs.runner import JobContext
from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id
from cybervault.webhooks import fanout
from tests.helpers import OrgKeys, poll_until
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliveries, make_endpoint


def _ids(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["id"] for r in receiver.requests]


async def test_events_of_one_transaction_reach_their_own_endpoints_once(org: OrgKeys, other_org: OrgKeys) -> None:
    async with Receiver() as mine, Receiver() as theirs, Receiver() as sandbox:
        endpoint = await make_endpoint(org.live, mine.url)
        other = await make_endpoint(other_org.live, theirs.url)
        await make_endpoint(org.test, sandbox.url)
        async with org.app.state.db.session() as session:
            ours = [record_event(session, org_id=org.id, livemode=True, type="incident.created",
                                 obj={"id": f"inc_{i}", "object": "incident"}).id for i in range(3)]
            nested = await session.begin_nested()
            dropped = record_event(session, org_id=org.id, livemode=True, type="incident.updated",
                                   obj={"id": "inc_dropped", "object": "incident"}).id
            await nested.rollback()  # this event never happened: it must not be delivered
            others = [record_event(session, org_id=other_org.id, livemode=True, type="scan.completed",
                                   obj={"id": f"sc_{i}", "object": "scan"}).id for i in range(2)]
            await session.commit()

        await poll_until(lambda: len(mine.requests) >= 3 and len(theirs.requests) >= 2, message="every delivery")
        rows: list[dict[str, Any]] = await poll_until(lambda: _recorded(org.live, endpoint["id"], 3),
                                                      message="delivery rows recorded")
        assert len(rows) == 3 and all(r["status"] == "succeeded" for r in rows), rows
        assert sorted(_ids(mine)) == sorted(ours) and dropped not in _ids(mine)
        assert sorted(_ids(theirs)) == sorted(others)
        assert sandbox.requests == []  # test mode hears nothing of live events
        for request in mine.requests:
            Webhook(endpoint["secret"]).verify(request.body, request.headers)
        for request in theirs.requests:
            Webhook(other["secret"]).verify(request.body, request.headers)
        assert {r["event"] for r in rows} == set(ours)
        assert all(r["attempt_count"] == 1 and r["attempts"][0]["status_code"] == 200 for r in rows)


async def _recorded(client: Any, endpoint_id: str, count: int) -> list[dict[str, Any]] | None:
    """The endpoint's delivery rows once at least `count` of them have their first attempt recorded."""
    rows = await deliveries(client, endpoint_id)
    return rows if sum(1 for r in rows if r["attempts"]) >= count else None


async def test_a_dispatch_stopped_mid_send_hands_back_the_jobs_it_took(org: OrgKeys) -> None:
    """A worker shutting down while sending must not leave the dispatch jobs it took leased (their events
    would wait out the lease, 35 s here): they are queued again and delivered by the next worker."""
    async with Receiver(delay=60) as slow:
        await make_endpoint(org.live, slow.url)
        now = utcnow()
        event = Event(id=new_id("evt"), org_id=org.id, livemode=True, type="incident.created",
                      data={"object": {"id": "inc_taken", "object": "incident"}}, created_at=now)
        # Queued and marked published just now, so only the dispatch below takes it (the reconciler
        # leaves a published job a lease's time, 5 s here, before publishing it again).
        job = Job(id=new_id("job"), kind=DISPATCH_KIND, status="queued", payload={"event_ids": [event.id]},
                  attempts=0, max_attempts=5, run_at=now, published_at=now, org_id=org.id,
                  created_at=now, updated_at=now)
        async with org.app.state.db.session() as session, session.begin():
            session.add_all([event, job])
        settings = org.app.state.settings
        ctx = JobContext("job_leader", DISPATCH_KIND, 1, {"event_ids": []}, org.app.state.db, settings,
                         "worker-shutting-down", settings.job_lease_seconds)
        leader = asyncio.create_task(fanout.dispatch(ctx))
        await poll_until(lambda: slow.in_flight, message="the taken event being sent")
        leader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await leader
        slow.delay = 0

        await poll_until(lambda: sum(1 for r in slow.requests if r.headers["webhook-id"] == event.id) >= 2,
                         timeout=15, message="the event sent again by another worker")
        async with org.app.state.db.session() as session:
            taken = await session.get(Job, job.id)
            assert taken is not None and taken.lease_owner != "worker-shutting-down"
