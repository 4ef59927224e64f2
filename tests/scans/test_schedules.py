"""Recurring scans: validated on creation, started by the periodic job when due, then every interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cybervault.kit.time import parse_iso
from cybervault.scans.schedules import run_due_schedules
from tests.helpers import OrgKeys
from tests.scans.conftest import register, wait_finished


async def test_schedule_crud_and_validation(org: OrgKeys, other_org: OrgKeys) -> None:
    created = await org.test.post("/v1/threats/schedules", json={"target": "192.168.1.0/24", "interval_minutes": 60})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["id"].startswith("ssch_") and schedule["object"] == "scan_schedule"
    assert schedule["depth"] == "standard" and schedule["active"] is True and schedule["livemode"] is False

    assert (await org.test.get(f"/v1/threats/schedules/{schedule['id']}")).json() == schedule
    assert [s["id"] for s in (await org.test.get("/v1/threats/schedules")).json()["data"]] == [schedule["id"]]
    assert (await other_org.test.get(f"/v1/threats/schedules/{schedule['id']}")).status_code == 404
    assert (await org.live.get(f"/v1/threats/schedules/{schedule['id']}")).status_code == 404

    for body, param in (
        ({"target": "10.0.0.1", "interval_minutes": 10}, "interval_minutes"),
        ({"target": "10.0.0.0/8", "interval_minutes": 60}, "target"),
        ({"target": "no way", "interval_minutes": 60}, "target"),
        ({"asset_ids": ["ast_nope"], "interval_minutes": 60}, "asset_ids"),
        ({"interval_minutes": 60}, None),
        ({"target": "10.0.0.1", "asset_ids": ["ast_x"], "interval_minutes": 60}, None),
    ):
        response = await org.test.post("/v1/threats/schedules", json=body)
        assert response.status_code == 400, body
        if param:
            assert response.json()["error"]["param"] == param, body

    deleted = await org.test.delete(f"/v1/threats/schedules/{schedule['id']}")
    assert deleted.json() == {"id": schedule["id"], "object": "scan_schedule", "deleted": True}
    assert (await org.test.get(f"/v1/threats/schedules/{schedule['id']}")).status_code == 404


async def test_due_schedule_starts_scans_and_moves_on(app: Any, org: OrgKeys) -> None:
    asset = await register(org.test, "192.168.1.0/24")
    schedule = (await org.test.post("/v1/threats/schedules", json={"asset_ids": [asset["id"]],
                                                                   "interval_minutes": 15})).json()
    await run_due_schedules(app.state.db, app.state.settings)
    ran = (await org.test.get(f"/v1/threats/schedules/{schedule['id']}")).json()
    assert len(ran["last_scan_ids"]) == 1 and ran["last_error"] is None
    scan = (await org.test.get(f"/v1/threats/scans/{ran['last_scan_ids'][0]}")).json()
    assert scan["schedule_id"] == schedule["id"] and scan["target"] == "192.168.1.0/24"
    assert scan["status"] == "completed" and scan["threats_found"] == 2
    assert parse_iso(ran["next_run_at"]) - parse_iso(ran["last_run_at"]) >= dt.timedelta(minutes=7)

    # Not due again until the interval has passed.
    await run_due_schedules(app.state.db, app.state.settings)
    assert (await org.test.get(f"/v1/threats/schedules/{schedule['id']}")).json()["last_run_at"] == ran["last_run_at"]

    # An asset deleted since is reported on the schedule instead of failing silently.
    await org.test.delete(f"/v1/assets/{asset['id']}")
    later = parse_iso(ran["next_run_at"]) + dt.timedelta(seconds=1)
    await run_due_schedules(app.state.db, app.state.settings, now=later)
    broken = (await org.test.get(f"/v1/threats/schedules/{schedule['id']}")).json()
    assert broken["last_scan_ids"] == [] and "assets" in broken["last_error"]
    await org.test.delete(f"/v1/threats/schedules/{schedule['id']}")


async def test_live_schedule_scans_a_loopback_asset(app: Any, org: OrgKeys, ssh_port: int) -> None:
    await register(org.live, "127.0.0.1")
    schedule = (await org.live.post("/v1/threats/schedules", json={
        "target": "127.0.0.1", "depth": "quick", "include_vulns": False, "interval_minutes": 1440})).json()
    try:
        await run_due_schedules(app.state.db, app.state.settings)
        ran = (await org.live.get(f"/v1/threats/schedules/{schedule['id']}")).json()
        assert len(ran["last_scan_ids"]) == 1
        scan = await wait_finished(org, ran["last_scan_ids"][0])
        assert scan["status"] == "completed"
        assert any(f["port"] == ssh_port for f in scan["findings"])
    finally:
        await org.live.delete(f"/v1/threats/schedules/{schedule['id']}")
