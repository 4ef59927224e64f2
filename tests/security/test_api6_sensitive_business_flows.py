"""API6 Unrestricted Access to Sensitive Business Flows: scanning is the flow an attacker would abuse
(to use us as a scanner), so each org has a daily scan quota that extra keys do not multiply."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.helpers import make_org


async def test_daily_scan_quota_is_per_org_not_per_key(make_app: Any) -> None:
    app = await make_app(scan_daily_quota_per_org=3, scan_max_concurrent_per_org=100)
    org = await make_org(app, "Quota")
    other = await make_org(app, "Quota neighbour")
    second_key = await org.make_key(livemode=False)
    statuses = []
    async with org.client_for(second_key) as second:
        for client in (org.test, second, org.test, second, org.test):
            response = await client.post("/v1/threats/scans", json={"target_ip": "192.0.2.1", "depth": "quick"})
            statuses.append(response.status_code)
    assert statuses[:3] == [201, 201, 201] or statuses[:3] == [202, 202, 202], statuses
    assert statuses[3:] == [429, 429]
    refused = await org.test.post("/v1/threats/scans", json={"target_ip": "192.0.2.1"})
    error = refused.json()["error"]
    assert error["code"] == "scan_limit_exceeded" and "quota" in error["message"]
    now = dt.datetime.now(dt.UTC)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    retry = int(refused.headers["retry-after"])
    assert abs(retry - (midnight - now).total_seconds()) < 120, "Retry-After points at 00:00 UTC"
    # Another organization's quota is untouched.
    assert (await other.test.post("/v1/threats/scans", json={"target_ip": "192.0.2.1"})).status_code < 300
    # Refused scans left no rows behind.
    listing = (await org.test.get("/v1/threats/scans", params={"limit": 100})).json()
    assert len(listing["data"]) == 3
    for keys in (org, other):
        await keys.live.aclose(), await keys.test.aclose()
