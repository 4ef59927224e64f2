"""Assets: validated, normalized targets; one per target; filters; tenant isolation; scopes."""

from __future__ import annotations

from tests.helpers import OrgKeys


async def test_create_get_update_delete(org: OrgKeys) -> None:
    created = await org.live.post("/v1/assets", json={
        "target": "10.0.0.5/24", "name": "Office LAN", "tags": ["office", "pci"], "criticality": "high",
        "environment": "production", "owner": "netops@example.com"})
    assert created.status_code == 201, created.text
    asset = created.json()
    assert asset["id"].startswith("ast_") and asset["object"] == "asset" and asset["livemode"] is True
    assert asset["target"] == "10.0.0.0/24" and asset["kind"] == "cidr"  # normalized
    assert asset["tags"] == ["office", "pci"] and asset["criticality"] == "high"
    assert asset["created"].endswith("Z") and asset["last_scanned_at"] is None

    fetched = (await org.live.get(f"/v1/assets/{asset['id']}")).json()
    assert fetched == asset

    patched = await org.live.patch(f"/v1/assets/{asset['id']}", json={"owner": "secops@example.com",
                                                                      "tags": ["office"]})
    assert patched.status_code == 200
    assert patched.json()["owner"] == "secops@example.com" and patched.json()["tags"] == ["office"]
    assert patched.json()["name"] == "Office LAN"

    deleted = await org.live.delete(f"/v1/assets/{asset['id']}")
    assert deleted.json() == {"id": asset["id"], "object": "asset", "deleted": True}
    assert (await org.live.get(f"/v1/assets/{asset['id']}")).status_code == 404


async def test_target_forms(org: OrgKeys) -> None:
    cases = {"192.0.2.7": ("192.0.2.7", "ip"), "2001:DB8::1": ("2001:db8::1", "ip"),
             "198.51.100.9/32": ("198.51.100.9", "ip"), "2001:db8::/64": ("2001:db8::/64", "cidr"),
             "Web-01.Example.COM.": ("web-01.example.com", "hostname"), "localhost": ("localhost", "hostname")}
    for given, (stored, kind) in cases.items():
        response = await org.live.post("/v1/assets", json={"target": given})
        assert response.status_code == 201, (given, response.text)
        assert (response.json()["target"], response.json()["kind"]) == (stored, kind)


async def test_bad_input_is_a_clear_400(org: OrgKeys) -> None:
    for target in ("", "10.0.0.256", "10.0.0.0/33", "-bad.example.com", "a..b", "host_name.example", "1.2.3.4.5",
                   "a" * 64 + ".com", "http://example.com"):
        response = await org.live.post("/v1/assets", json={"target": target})
        assert response.status_code == 400, target
        error = response.json()["error"]
        assert error["param"] == "target", (target, error)
    too_many = await org.live.post("/v1/assets", json={"target": "10.9.9.9", "tags": [f"t{i}" for i in range(51)]})
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "tags"
    too_long = await org.live.post("/v1/assets", json={"target": "10.9.9.9", "tags": ["x" * 65]})
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "tags"
    criticality = await org.live.post("/v1/assets", json={"target": "10.9.9.9", "criticality": "extreme"})
    assert criticality.status_code == 400 and criticality.json()["error"]["param"] == "criticality"
    unknown = await org.live.post("/v1/assets", json={"target": "10.9.9.9", "org_id": "org_x"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "org_id"


async def test_duplicate_target_is_409_naming_the_existing_asset(org: OrgKeys) -> None:
    first = (await org.live.post("/v1/assets", json={"target": "10.1.0.0/16"})).json()
    again = await org.live.post("/v1/assets", json={"target": "10.1.5.5/16"})  # same network, other spelling
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "conflict" and error["existing_id"] == first["id"] and first["id"] in error["message"]
    # Overlapping ranges are separate assets.
    assert (await org.live.post("/v1/assets", json={"target": "10.1.2.0/24"})).status_code == 201
    # The same target in test mode or another org is independent.
    assert (await org.test.post("/v1/assets", json={"target": "10.1.0.0/16"})).status_code == 201
    other = (await org.live.post("/v1/assets", json={"target": "10.2.0.1"})).json()
    clash = await org.live.patch(f"/v1/assets/{other['id']}", json={"target": "10.1.0.0/16"})
    assert clash.status_code == 409 and clash.json()["error"]["existing_id"] == first["id"]


async def test_list_filters_and_pagination(org: OrgKeys) -> None:
    await org.live.post("/v1/assets", json={"target": "10.3.0.1", "tags": ["db", "pci"], "criticality": "critical",
                                            "environment": "production"})
    await org.live.post("/v1/assets", json={"target": "10.3.0.2", "tags": ["web"], "criticality": "low",
                                            "environment": "staging"})
    await org.live.post("/v1/assets", json={"target": "10.3.0.3", "tags": ["pci_scope"], "environment": "production"})
    pci = (await org.live.get("/v1/assets", params={"tag": "pci"})).json()
    assert [a["target"] for a in pci["data"]] == ["10.3.0.1"]  # an exact tag, not a substring
    prod = (await org.live.get("/v1/assets", params={"environment": "production"})).json()
    assert [a["target"] for a in prod["data"]] == ["10.3.0.3", "10.3.0.1"]  # newest first
    crit = (await org.live.get("/v1/assets", params={"criticality": "critical"})).json()
    assert [a["target"] for a in crit["data"]] == ["10.3.0.1"]
    page = (await org.live.get("/v1/assets", params={"limit": 2})).json()
    assert page["has_more"] is True and len(page["data"]) == 2
    rest = (await org.live.get("/v1/assets", params={"limit": 2, "starting_after": page["data"][-1]["id"]})).json()
    assert [a["target"] for a in rest["data"]] == ["10.3.0.1"] and rest["has_more"] is False


async def test_isolation_across_orgs_and_modes(org: OrgKeys, other_org: OrgKeys) -> None:
    asset = (await org.live.post("/v1/assets", json={"target": "10.4.0.1"})).json()
    assert (await other_org.live.get(f"/v1/assets/{asset['id']}")).status_code == 404
    assert (await org.test.get(f"/v1/assets/{asset['id']}")).status_code == 404
    assert (await other_org.live.delete(f"/v1/assets/{asset['id']}")).status_code == 404
    assert (await other_org.live.patch(f"/v1/assets/{asset['id']}", json={"name": "x"})).status_code == 404
    assert (await org.test.get("/v1/assets")).json()["data"] == []
    assert (await other_org.live.get("/v1/assets")).json()["data"] == []


async def test_scopes(org: OrgKeys) -> None:
    reader = org.client_for(await org.make_key(kind="rk", scopes=["assets:read"]))
    async with reader:
        assert (await reader.get("/v1/assets")).status_code == 200
        denied = await reader.post("/v1/assets", json={"target": "10.5.0.1"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_permissions"
    scans_only = org.client_for(await org.make_key(kind="rk", scopes=["scans:write"]))
    async with scans_only:
        assert (await scans_only.get("/v1/assets")).status_code == 403
