"""Re-evaluation jobs: baselines, compliance.changed events with before/after, and posture history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cybervault.compliance.models import EvaluationState
from cybervault.compliance.service import request_evaluation
from cybervault.events.models import Event
from cybervault.jobs.service import enqueue
from tests.helpers import OrgKeys, poll_until


async def _changed_events(db: Any, org_id: str, livemode: bool = True) -> list[Event]:
    async with db.session() as session:
        stmt = select(Event).where(Event.org_id == org_id, Event.livemode == livemode,
                                   Event.type == "compliance.changed").order_by(Event.id)
        return list((await session.scalars(stmt)).all())


async def _history(client: Any) -> list[dict[str, Any]]:
    return (await client.get("/v1/compliance/posture/history", params={"limit": 100})).json()["data"]


async def test_status_flip_records_event_and_history(org: OrgKeys, db: Any) -> None:
    async with db.session() as session:
        request_evaluation(session, org.id, True, trigger="manual")
        await session.commit()
    history = await poll_until(lambda: _history(org.live), message="baseline snapshot")
    assert history[-1]["changes"] == 0  # the first snapshot is the baseline
    assert set(history[-1]["frameworks"]) == {"soc2", "iso27001", "hipaa", "gdpr"}
    assert await _changed_events(db, org.id) == []  # a baseline is not a change

    # An attestation queues re-evaluation on its own; the flipped requirements each get an event.
    r = await org.live.post("/v1/compliance/attestations", json={
        "control": "PHYSICAL-ACCESS", "status": "fail", "attested_by": "facilities@example.com"})
    assert r.status_code == 201

    async def physical_flipped() -> list[Event] | None:
        events = await _changed_events(db, org.id)
        return events if any(e.data["object"]["requirement"] == "CC6.4" for e in events) else None

    events = await poll_until(physical_flipped, message="compliance.changed for CC6.4")
    flipped = {(e.data["object"]["framework"], e.data["object"]["requirement"]): e.data for e in events}
    data = flipped[("soc2", "CC6.4")]
    assert data["object"]["before"] == "not_assessed" and data["object"]["after"] == "fail"
    assert data["previous_attributes"] == {"status": "not_assessed"}
    assert data["object"]["controls"][0]["id"] == "PHYSICAL-ACCESS"
    assert ("iso27001", "7.2") in flipped and ("hipaa", "164.310(a)(1)") in flipped

    async def failing_snapshot() -> dict[str, Any] | None:
        return next((h for h in await _history(org.live) if h["controls"]["PHYSICAL-ACCESS"] == "fail"), None)

    snapshot = await poll_until(failing_snapshot, message="snapshot with the flip")
    assert snapshot["changes"] >= 3 and snapshot["trigger"] in ("attestation", "data_change")

    # Re-evaluating with nothing changed records no new events.
    for _ in range(2):
        before = await _last_evaluated(db, org.id)
        count = len(await _changed_events(db, org.id))
        async with db.session() as session:
            request_evaluation(session, org.id, True)
            await session.commit()

        async def re_evaluated(before: Any = before) -> bool:
            return await _last_evaluated(db, org.id) != before

        await poll_until(re_evaluated, message="re-evaluation")
    assert len(await _changed_events(db, org.id)) == count
    # Modes are separate tenants: nothing was recorded for test mode.
    assert await _changed_events(db, org.id, livemode=False) == []


async def _last_evaluated(db: Any, org_id: str, livemode: bool = True) -> Any:
    async with db.session() as session:
        state = await session.get(EvaluationState, (org_id, livemode))
        return state.last_evaluated_at if state is not None else None


async def test_sweep_queues_tenants_with_new_activity(org: OrgKeys, db: Any) -> None:
    # An audited change (creating an attestation in test mode) is activity the sweep notices.
    r = await org.test.post("/v1/compliance/attestations", json={
        "control": "TRAINING", "status": "pass", "attested_by": "hr@example.com"})
    assert r.status_code == 201
    async with db.session() as session:
        enqueue(session, "compliance.sweep", {})
        await session.commit()

    async def evaluated() -> bool:
        return await _last_evaluated(db, org.id, livemode=False) is not None

    # The sweep queues every tenant of the shared test database, so allow for a busy machine.
    await poll_until(evaluated, timeout=60, message="test-mode tenant evaluated")
    posture = (await org.test.get("/v1/compliance/posture", params={"frameworks": "iso27001"})).json()
    req = next(r for r in posture["frameworks"][0]["requirements"] if r["id"] == "6.3")
    assert req["status"] == "pass"
