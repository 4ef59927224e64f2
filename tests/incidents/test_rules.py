"""Triage rules (ordered; first match sets each value; channels accumulate) and per-org SLA settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cybervault.kit.time import parse_iso
from tests.helpers import OrgKeys
from tests.incidents.conftest import HttpReceiver, make_incident, seed_asset


async def make_rule(client: Any, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/triage_rules", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


async def test_rules_assign_team_override_priority_in_order(org: OrgKeys) -> None:
    await seed_asset(org.app, org.id, "10.80.0.4", criticality="high", tags=["pci", "prod"])
    pci = await make_rule(org.live, name="PCI", conditions={"asset_tags": ["pci"]},
                          actions={"assign": "pci-lead@example.com", "team": "payments-sec", "priority": "P1"})
    later = await make_rule(org.live, name="Everything high", conditions={"severity": ["high", "medium"]},
                            actions={"assign": "someone-else", "team": "soc"})
    assert (pci["position"], later["position"]) == (0, 1)
    inc = await make_incident(org.live, severity="medium", affected_systems=["10.80.0.4"])
    assert inc["assignee"] == "pci-lead@example.com" and inc["team"] == "payments-sec"
    assert inc["priority"] == "P1" and inc["priority_score"] == 32  # the computed score stays visible
    assert [r["id"] for r in inc["triage"]["rules_applied"]] == [pci["id"], later["id"]]
    assert inc["triage"]["reasons"][-1]["factor"] == "rule_override"
    assert parse_iso(inc["acknowledge_by"]) - parse_iso(inc["created"]) == dt.timedelta(minutes=15)
    other = await make_incident(org.live, severity="medium", affected_systems=["10.80.0.99"])
    assert other["assignee"] == "someone-else" and other["priority"] == "P4"
    listed = (await org.live.get("/v1/triage_rules")).json()["data"]
    assert [r["id"] for r in listed] == [pci["id"], later["id"]]
    await org.live.patch(f"/v1/triage_rules/{later['id']}", json={"position": 0, "stop_processing": True})
    await org.live.patch(f"/v1/triage_rules/{pci['id']}", json={"position": 1})
    reordered = await make_incident(org.live, severity="medium", affected_systems=["10.80.0.4"])
    assert reordered["assignee"] == "someone-else" and reordered["priority"] == "P3"
    assert [r["id"] for r in reordered["triage"]["rules_applied"]] == [later["id"]]


async def test_text_cve_kev_and_priority_conditions(org: OrgKeys) -> None:
    await make_rule(org.live, conditions={"text": ["ransom"]}, actions={"team": "ir"})
    await make_rule(org.live, conditions={"cve": ["cve-2017-5638"]}, actions={"assign": "struts-owner"})
    await make_rule(org.live, conditions={"kev": True, "priority": ["P2"]}, actions={"priority": "P1"})
    ransom = await make_incident(org.live, title="RANSOMWARE detected", severity="low")
    assert ransom["team"] == "ir" and ransom["assignee"] is None and ransom["priority"] == "P4"
    struts = await make_incident(org.live, severity="high", description="Exploit for CVE-2017-5638 observed")
    # high 40 + KEV 15 = 55 → P2, then the KEV+P2 rule raises it to P1
    assert struts["assignee"] == "struts-owner" and struts["priority"] == "P1" and struts["priority_score"] == 55
    disabled = await make_rule(org.live, enabled=False, conditions={}, actions={"assign": "nobody"})
    plain = await make_incident(org.live, severity="low", title="Lost laptop")
    assert plain["assignee"] is None and disabled["enabled"] is False


async def test_rule_channels_bypass_channel_minimums(org: OrgKeys, receiver: HttpReceiver) -> None:
    channel = (await org.live.post("/v1/notification_channels", json={
        "type": "slack", "url": receiver.url, "min_severity": "critical"})).json()
    await make_rule(org.live, conditions={"text": ["vip"]}, actions={"channels": [channel["id"]]})
    await make_incident(org.live, severity="low", title="Routine phishing report")
    vip = await make_incident(org.live, severity="low", title="VIP mailbox compromised")
    assert vip["triage"]["channels"] == [channel["id"]]
    requests = await receiver.wait_for(1)
    assert len(requests) == 1 and "VIP mailbox compromised" in requests[0].json()["text"]


@pytest.mark.parametrize(("payload", "param"), [
    ({"conditions": {}}, "actions"),
    ({"actions": {}}, "actions"),
    ({"actions": {"priority": "P0"}}, "actions.priority"),
    ({"actions": {"channels": ["nc_doesnotexist000000"]}}, "actions.channels[0]"),
    ({"actions": {"channels": ["not-an-id"]}}, "actions.channels[0]"),
    ({"actions": {"team": "x"}, "conditions": {"cve": ["CVE-17"]}}, "conditions.cve[0]"),
    ({"actions": {"team": "x"}, "conditions": {"severity": ["sev1"]}}, "conditions.severity[0]"),
    ({"actions": {"team": "x"}, "conditions": {"severity": []}}, "conditions.severity"),
    ({"actions": {"team": "x"}, "conditions": {"colour": ["red"]}}, "conditions.colour"),
    ({"actions": {"team": "x"}, "position": -1}, "position"),
    ({"actions": {"team": "x"}, "name": "n" * 201}, "name"),
])
async def test_rule_validation(org: OrgKeys, payload: dict[str, Any], param: str) -> None:
    response = await org.live.post("/v1/triage_rules", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


async def test_rules_are_isolated_and_deletable(org: OrgKeys, other_org: OrgKeys) -> None:
    rule = await make_rule(org.live, conditions={}, actions={"assign": "owner-a"})
    for client in (other_org.live, org.test):
        assert (await client.get(f"/v1/triage_rules/{rule['id']}")).status_code == 404
        assert (await make_incident(client))["assignee"] is None
    assert (await org.live.delete(f"/v1/triage_rules/{rule['id']}")).json()["deleted"] is True
    assert (await make_incident(org.live))["assignee"] is None


async def test_sla_targets_are_configurable_per_org(org: OrgKeys, other_org: OrgKeys) -> None:
    defaults = (await org.live.get("/v1/triage_settings")).json()
    assert defaults["sla"]["P4"] == {"acknowledge_minutes": 1440, "resolve_minutes": 10080}
    response = await org.live.post("/v1/triage_settings", json={
        "sla": {"P4": {"acknowledge_minutes": 120, "resolve_minutes": 600}}})
    assert response.status_code == 200 and response.json()["sla"]["P4"]["acknowledge_minutes"] == 120
    assert response.json()["sla"]["P1"]["acknowledge_minutes"] == 15
    inc = await make_incident(org.live, severity="low")
    assert parse_iso(inc["acknowledge_by"]) - parse_iso(inc["created"]) == dt.timedelta(minutes=120)
    assert parse_iso(inc["resolve_by"]) - parse_iso(inc["created"]) == dt.timedelta(minutes=600)
    theirs = await make_incident(other_org.live, severity="low")
    assert parse_iso(theirs["acknowledge_by"]) - parse_iso(theirs["created"]) == dt.timedelta(days=1)
    bad = await org.live.post("/v1/triage_settings", json={"sla": {"P4": {"acknowledge_minutes": 60,
                                                                          "resolve_minutes": 30}}})
    assert bad.status_code == 400 and bad.json()["error"]["param"].startswith("sla.P4")
    unknown = await org.live.post("/v1/triage_settings", json={"sla": {"P9": {"acknowledge_minutes": 1,
                                                                              "resolve_minutes": 2}}})
    assert unknown.status_code == 400
