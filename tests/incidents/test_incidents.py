"""Incidents through the API: creation with inline triage, duplicates, lifecycle, timeline, SLA, isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from cybervault.incidents.models import Incident
from cybervault.incidents.service import detect_sla_breaches
from cybervault.kit.time import parse_iso
from tests.helpers import OrgKeys
from tests.incidents.conftest import events_of, make_incident, seed_asset, seed_finding


async def test_create_returns_triage_and_records_events_and_timeline(org: OrgKeys) -> None:
    inc = await make_incident(org.live, title="Ransomware note on file server", severity="high",
                              affected_systems=["fs01.corp.example"], tags=["ransomware"])
    assert inc["id"].startswith("inc_") and inc["object"] == "incident" and inc["livemode"] is True
    assert inc["status"] == "open"
    triage = inc["triage"]
    assert triage["priority"] == inc["priority"] == "P3"  # high (40) alone, nothing else known
    assert triage["score"] == 40 and triage["reasons"][0]["factor"] == "severity"
    assert triage["unmatched_systems"] == ["fs01.corp.example"]
    assert inc["acknowledge_by"] and inc["resolve_by"]
    created = parse_iso(inc["created"])
    assert parse_iso(inc["acknowledge_by"]) - created == dt.timedelta(hours=4)
    assert parse_iso(inc["resolve_by"]) - created == dt.timedelta(days=3)
    types = [e.type for e in await events_of(org.app, org.id)]
    assert types[:2] == ["incident.created", "incident.triaged"]
    timeline = (await org.live.get(f"/v1/incidents/{inc['id']}/timeline", params={"limit": 100})).json()["data"]
    kinds = {e["type"] for e in timeline}
    assert {"incident.created", "triage.assets", "triage.findings", "triage.priority", "triage.duplicates",
            "triage.sla"} <= kinds
    assert all(e["actor"] and e["created"] for e in timeline)
    fetched = (await org.live.get(f"/v1/incidents/{inc['id']}")).json()
    assert fetched["triage"] == triage


async def test_priority_uses_assets_findings_and_kev(org: OrgKeys) -> None:
    asset = await seed_asset(org.app, org.id, "10.20.0.5", criticality="critical", tags=["pci"])
    await seed_finding(org.app, org.id, "10.20.0.5", severity="critical", cve="CVE-2017-5638", kev=True)
    await seed_finding(org.app, org.id, "10.20.0.5", severity="low", status="resolved")
    inc = await make_incident(org.live, severity="critical", title="Struts exploitation on payments",
                              description="Exploit traffic for CVE-2017-5638 and CVE-2014-0160 seen.",
                              affected_systems=["10.20.0.5", "10.99.0.0/30"])
    triage = inc["triage"]
    assert [a["id"] for a in triage["assets"]] == [asset]
    assert triage["matched_systems"] == {"10.20.0.5": [asset]}
    assert triage["unmatched_systems"] == ["10.99.0.0/30"]
    assert len(triage["findings"]) == 1 and triage["findings"][0]["kev"] is True  # the resolved one is left out
    assert triage["cves_in_text"] == ["CVE-2017-5638", "CVE-2014-0160"]
    assert {c["id"]: c["kev"] for c in triage["cves"]} == {"CVE-2017-5638": True, "CVE-2014-0160": True}
    factors = {r["factor"]: r["points"] for r in triage["reasons"]}
    assert factors == {"severity": 60, "asset_criticality": 20, "known_exploited": 15, "open_findings": 10}
    assert inc["priority"] == "P1" and inc["priority_score"] == 100
    assert parse_iso(inc["acknowledge_by"]) - parse_iso(inc["created"]) == dt.timedelta(minutes=15)


async def test_cidr_asset_matches_ip_system_and_asset_ids_match(org: OrgKeys) -> None:
    net = await seed_asset(org.app, org.id, "10.30.0.0/24", kind="cidr", criticality="high")
    host = await seed_asset(org.app, org.id, "web.corp.example", kind="hostname", criticality="low")
    inc = await make_incident(org.live, severity="medium", affected_systems=["10.30.0.9", host])
    assert inc["triage"]["matched_systems"] == {"10.30.0.9": [net], host: [host]}
    assert inc["priority"] == "P3"  # medium 20 + high-criticality asset 12


async def test_external_id_returns_the_open_incident_with_200(org: OrgKeys) -> None:
    first = await make_incident(org.live, external_id="siem-4411")
    again = await org.live.post("/v1/incidents", json={"title": "Other title", "severity": "low",
                                                       "description": "again", "external_id": "siem-4411"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    for status in ("investigating", "resolved"):
        assert (await org.live.patch(f"/v1/incidents/{first['id']}", json={"status": status})).status_code == 200
    fresh = await org.live.post("/v1/incidents", json={"title": "x", "severity": "low", "description": "y",
                                                       "external_id": "siem-4411"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first["id"]


async def test_concurrent_creates_with_one_external_id_make_one_incident(org: OrgKeys) -> None:
    import asyncio

    body = {"title": "Alert storm", "severity": "high", "description": "same alert", "external_id": "storm-1"}
    responses = await asyncio.gather(*(org.live.post("/v1/incidents", json=body) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_likely_duplicate_needs_shared_system_and_similar_title(org: OrgKeys) -> None:
    first = await make_incident(org.live, title="SSH brute force against bastion", affected_systems=["10.40.0.1"])
    dup = await make_incident(org.live, title="SSH brute-force against bastion host", affected_systems=["10.40.0.1"])
    assert dup["likely_duplicate_of"] == first["id"]
    assert dup["triage"]["likely_duplicate"]["id"] == first["id"]
    assert dup["triage"]["related_incidents"][0]["shared"] == ["sys:10.40.0.1"]
    other = await make_incident(org.live, title="Disk full on logging cluster", affected_systems=["10.40.0.1"])
    assert other["likely_duplicate_of"] is None
    assert {r["id"] for r in other["triage"]["related_incidents"]} == {first["id"], dup["id"]}
    unrelated = await make_incident(org.live, title="SSH brute force against bastion", affected_systems=["10.41.0.1"])
    assert unrelated["likely_duplicate_of"] is None and unrelated["triage"]["related_incidents"] == []
    cve_a = await make_incident(org.live, title="Log4Shell probe", description="Probe for CVE-2021-44228")
    cve_b = await make_incident(org.live, title="Log4Shell probes", description="More CVE-2021-44228 probes")
    assert cve_b["likely_duplicate_of"] == cve_a["id"]


async def test_lifecycle_transitions_and_resolution(org: OrgKeys) -> None:
    inc = await make_incident(org.live)
    url = f"/v1/incidents/{inc['id']}"
    bad = await org.live.patch(url, json={"status": "closed"})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["param"] == "status" and error["allowed_statuses"] == ["triaged", "investigating", "resolved"]
    assert "triaged, investigating, resolved" in error["message"]
    for status in ("triaged", "investigating", "contained"):
        response = await org.live.patch(url, json={"status": status})
        assert response.status_code == 200 and response.json()["status"] == status
    body = (await org.live.patch(url, json={"status": "resolved", "root_cause": "Reused password",
                                            "lessons_learned": "Enforce MFA on VPN"})).json()
    assert body["resolved_at"] and body["acknowledged_at"] and body["root_cause"] == "Reused password"
    assert (await org.live.patch(url, json={"status": "closed"})).json()["closed_at"]
    final = await org.live.patch(url, json={"status": "investigating"})
    assert final.status_code == 400 and final.json()["error"]["allowed_statuses"] == []
    types = [e.type for e in await events_of(org.app, org.id)]
    assert types.count("incident.resolved") == 1 and types.count("incident.updated") == 5
    timeline = (await org.live.get(f"{url}/timeline", params={"limit": 100})).json()["data"]
    changes = [e for e in timeline if e["type"] == "status.changed"]
    assert len(changes) == 5 and all(e["actor"].startswith("key_") for e in changes)


async def test_severity_change_retriages_and_assignee_comment_in_timeline(org: OrgKeys) -> None:
    inc = await make_incident(org.live, severity="low")
    assert inc["priority"] == "P4"
    url = f"/v1/incidents/{inc['id']}"
    body = (await org.live.patch(url, json={"severity": "critical", "assignee": "alice@example.com"})).json()
    assert body["priority"] == "P2" and body["triage"]["score"] == 60 and body["assignee"] == "alice@example.com"
    assert parse_iso(body["acknowledge_by"]) - parse_iso(body["created"]) == dt.timedelta(hours=1)
    comment = await org.live.post(f"{url}/comments", json={"body": "Isolated the host."})
    assert comment.status_code == 201 and comment.json()["id"].startswith("cmt_")
    listed = (await org.live.get(f"{url}/comments")).json()["data"]
    assert [c["body"] for c in listed] == ["Isolated the host."]
    timeline = (await org.live.get(f"{url}/timeline", params={"limit": 100})).json()["data"]
    kinds = [e["type"] for e in timeline]
    assert "severity.changed" in kinds and "assignee.changed" in kinds and "comment.added" in kinds
    assert [e.type for e in await events_of(org.app, org.id)][-2:] == ["incident.updated", "incident.triaged"]


async def test_personal_data_breach_starts_the_72_hour_clock(org: OrgKeys) -> None:
    detected = "2026-01-10T09:00:00Z"
    inc = await make_incident(org.live, personal_data_breach=True, detected_at=detected)
    assert inc["notify_authority_by"] == "2026-01-13T09:00:00Z"
    assert any(r["factor"] == "personal_data_breach" for r in inc["triage"]["reasons"])
    plain = await make_incident(org.live)
    assert plain["notify_authority_by"] is None


async def test_sla_breach_is_detected_once_and_recorded(org: OrgKeys) -> None:
    inc = await make_incident(org.live, severity="critical")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with org.app.state.db.session() as session:
        await session.execute(update(Incident).where(Incident.id == inc["id"]).values(acknowledge_by=past))
        await session.commit()
    async with org.app.state.db.session() as session:
        assert await detect_sla_breaches(session) >= 1
        await session.commit()
    async with org.app.state.db.session() as session:
        await detect_sla_breaches(session)  # a second run records nothing new
        await session.commit()
    events = await events_of(org.app, org.id, "incident.sla_breached")
    assert len(events) == 1 and events[0].data["sla_breach"] == "acknowledge"
    assert events[0].data["object"]["id"] == inc["id"]
    body = (await org.live.get(f"/v1/incidents/{inc['id']}")).json()
    assert body["sla_breached"] is True and body["acknowledge_breached_at"] and body["resolve_breached_at"] is None
    timeline = (await org.live.get(f"/v1/incidents/{inc['id']}/timeline", params={"limit": 100})).json()["data"]
    assert [e["actor"] for e in timeline if e["type"] == "sla.breached"] == ["system:sla"]


async def test_list_filters(org: OrgKeys) -> None:
    a = await make_incident(org.live, severity="critical", tags=["phishing"])
    b = await make_incident(org.live, severity="low", tags=["malware"])
    await org.live.patch(f"/v1/incidents/{b['id']}", json={"status": "triaged", "assignee": "bob"})

    async def ids(**params: Any) -> list[str]:
        response = await org.live.get("/v1/incidents", params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["data"]]

    assert await ids() == [b["id"], a["id"]]
    assert await ids(severity="critical") == [a["id"]]
    assert await ids(status="triaged") == [b["id"]]
    assert await ids(priority="P4") == [b["id"]]
    assert await ids(assignee="bob") == [b["id"]]
    assert await ids(tag="phishing") == [a["id"]]
    assert await ids(**{"created[gte]": b["created"]}) == [b["id"]] or a["created"] == b["created"]
    assert await ids(created_lte="2000-01-01T00:00:00Z") == []
    assert await ids(limit=1) == [b["id"]]
    bad = await org.live.get("/v1/incidents", params={"severity": "bogus"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "severity"
    bad_time = await org.live.get("/v1/incidents", params={"created[gte]": "yesterday"})
    assert bad_time.status_code == 400 and bad_time.json()["error"]["param"] == "created[gte]"


async def test_isolation_across_orgs_and_modes(org: OrgKeys, other_org: OrgKeys) -> None:
    inc = await make_incident(org.live, affected_systems=["10.50.0.1"], title="Shared title for isolation")
    for client in (other_org.live, org.test):
        assert (await client.get(f"/v1/incidents/{inc['id']}")).status_code == 404
        assert (await client.patch(f"/v1/incidents/{inc['id']}", json={"status": "triaged"})).status_code == 404
        assert (await client.post(f"/v1/incidents/{inc['id']}/comments", json={"body": "x"})).status_code == 404
        assert (await client.get(f"/v1/incidents/{inc['id']}/timeline")).status_code == 404
        assert inc["id"] not in [i["id"] for i in (await client.get("/v1/incidents")).json()["data"]]
        mirror = await make_incident(client, affected_systems=["10.50.0.1"], title="Shared title for isolation")
        assert mirror["triage"]["related_incidents"] == [] and mirror["likely_duplicate_of"] is None
    test_mode = await make_incident(org.test)
    assert test_mode["livemode"] is False


async def test_scopes_are_enforced(org: OrgKeys) -> None:
    reader = org.client_for(await org.make_key(kind="rk", scopes=["incidents:read"]))
    try:
        assert (await reader.get("/v1/incidents")).status_code == 200
        denied = await reader.post("/v1/incidents", json={"title": "t", "severity": "low", "description": "d"})
        assert denied.status_code == 403 and denied.json()["error"]["missing_scope"] == "incidents:write"
        assert (await reader.get("/v1/notification_channels")).status_code == 403
        assert (await reader.get("/v1/triage_rules")).status_code == 403
    finally:
        await reader.aclose()


async def test_sla_job_records_a_resolve_breach(org: OrgKeys) -> None:
    from cybervault.jobs.service import enqueue
    from tests.helpers import poll_until

    inc = await make_incident(org.live, severity="low")
    await org.live.patch(f"/v1/incidents/{inc['id']}", json={"status": "investigating"})
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    async with org.app.state.db.session() as session:
        await session.execute(update(Incident).where(Incident.id == inc["id"]).values(resolve_by=past))
        enqueue(session, "incidents.sla_check", {})
        await session.commit()

    async def breached() -> list[Any]:
        return await events_of(org.app, org.id, "incident.sla_breached")

    events = await poll_until(breached, message="incident.sla_breached from the job")
    assert [e.data["sla_breach"] for e in events] == ["resolve"]  # acknowledged, so no acknowledge breach
    assert (await org.live.get(f"/v1/incidents/{inc['id']}")).json()["resolve_breached_at"]


async def test_a_range_matches_the_hosts_inside_and_the_listing_is_capped(org: OrgKeys) -> None:
    from cybervault.assets.models import Asset
    from cybervault.kit.db import utcnow
    from cybervault.kit.ids import new_id

    now = utcnow()
    async with org.app.state.db.session() as session:
        for i in range(1, 106):
            session.add(Asset(id=new_id("ast"), org_id=org.id, livemode=True, target=f"10.90.0.{i}", kind="ip",
                              tags=[], criticality="critical" if i == 77 else "low", created_at=now, updated_at=now))
        await session.commit()
    inc = await make_incident(org.live, severity="low", affected_systems=["10.90.0.0/25"])
    triage = inc["triage"]
    assert triage["asset_count"] == 105 and len(triage["assets"]) == 100
    assert triage["assets"][0]["target"] == "10.90.0.77"  # most critical listed first
    assert len(triage["matched_systems"]["10.90.0.0/25"]) == 105
    factors = {r["factor"]: r["points"] for r in triage["reasons"]}
    assert factors == {"severity": 5, "asset_criticality": 20, "blast_radius": 5} and inc["priority"] == "P3"
