"""The scope guard: allowed networks AND registered assets for live keys; syntax and size for all."""

from __future__ import annotations

from typing import Any

import pytest

from cybervault.kit.auth import Principal
from cybervault.kit.errors import InvalidTarget, TargetOutOfScope, TargetTooLarge
from cybervault.scans.scope import check_scan_target, resolve_hostname
from tests.helpers import OrgKeys
from tests.scans.conftest import register


def _principal(org: OrgKeys, livemode: bool = True) -> Principal:
    return Principal(org_id=org.id, livemode=livemode, key_id="key_test", kind="sk")


def resolver(table: dict[str, list[str]]) -> Any:
    async def resolve(name: str) -> list[str]:
        return table.get(name, [])
    return resolve


async def _check(app: Any, org: OrgKeys, target: str, *, livemode: bool = True, **kwargs: Any) -> Any:
    async with app.state.db.session() as session:
        return await check_scan_target(session, _principal(org, livemode), target, app.state.settings, **kwargs)


async def test_unregistered_loopback_is_out_of_scope(app: Any, org: OrgKeys) -> None:
    with pytest.raises(TargetOutOfScope) as caught:
        await _check(app, org, "127.0.0.1")
    assert "POST /v1/assets" in caught.value.message and caught.value.param == "target_ip"
    response = await org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.1"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "target_out_of_scope"


async def test_asset_outside_allowed_networks_is_out_of_scope(app: Any, org: OrgKeys) -> None:
    await register(org.live, "10.66.0.0/24")
    with pytest.raises(TargetOutOfScope) as caught:
        await _check(app, org, "10.66.0.5")
    assert "CYBERVAULT_SCAN_ALLOWED_NETWORKS" in caught.value.message
    response = await org.live.post("/v1/threats/scans", json={"target_ip": "10.66.0.5"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "target_out_of_scope"


async def test_cidr_assets_cover_contained_ranges_only(app: Any, org: OrgKeys) -> None:
    asset = await register(org.live, "127.0.5.0/24")
    scope = await _check(app, org, "127.0.5.8")
    assert scope.engine_targets == ["127.0.5.8"] and scope.asset_ids == [asset["id"]]
    assert (await _check(app, org, "127.0.5.128/25")).engine_targets == ["127.0.5.128/25"]
    with pytest.raises(TargetOutOfScope):
        await _check(app, org, "127.0.4.0/23")  # wider than the asset
    with pytest.raises(TargetOutOfScope):
        await _check(app, org, "127.0.6.1")


async def test_size_and_syntax(app: Any, org: OrgKeys) -> None:
    with pytest.raises(TargetTooLarge):
        await _check(app, org, "127.0.0.0/8")
    with pytest.raises(TargetTooLarge):
        await _check(app, org, "127.0.0.0/8", livemode=False)  # sandbox keys too
    with pytest.raises(TargetTooLarge):
        await _check(app, org, "::/64")
    for bad in ("127.0.0.1/40", "300.1.1.1", "not a host", "", "::g"):
        with pytest.raises(InvalidTarget) as caught:
            await _check(app, org, bad)
        assert caught.value.param == "target_ip"
    response = await org.live.get("/v1/threats/scan", params={"target_ip": "127.0.0.0/15"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "target_too_large"


async def test_sandbox_skips_network_checks(app: Any, org: OrgKeys) -> None:
    scope = await _check(app, org, "8.8.8.8", livemode=False)
    assert scope.engine_targets == []  # nothing for the engine: the sandbox never sends packets


async def test_hostname_targets_check_every_resolved_address(app: Any, org: OrgKeys) -> None:
    table = {"db.internal": ["127.0.7.1"], "split.internal": ["127.0.7.1", "10.0.0.1"],
             "v6.internal": ["::1"]}
    await register(org.live, "127.0.7.1")
    scope = await _check(app, org, "db.internal", resolver=resolver(table))
    assert scope.engine_targets == ["127.0.7.1"] and scope.target.kind == "hostname"
    with pytest.raises(TargetOutOfScope) as caught:
        await _check(app, org, "split.internal", resolver=resolver(table))
    assert "10.0.0.1" in caught.value.message
    with pytest.raises(TargetOutOfScope):
        await _check(app, org, "v6.internal", resolver=resolver(table))  # ::1 allowed but not an asset
    with pytest.raises(InvalidTarget):
        await _check(app, org, "nowhere.internal", resolver=resolver(table))


async def test_hostname_asset_covers_the_addresses_it_resolves_to(app: Any, org: OrgKeys) -> None:
    table = {"api.internal": ["127.0.8.9", "::1"]}
    asset = await register(org.live, "api.internal")
    scope = await _check(app, org, "127.0.8.9", resolver=resolver(table))
    assert scope.asset_ids == [asset["id"]]
    same = await _check(app, org, "api.internal", resolver=resolver(table))
    assert sorted(same.engine_targets) == ["127.0.8.9", "::1"]
    with pytest.raises(TargetOutOfScope):
        await _check(app, org, "127.0.8.10", resolver=resolver(table))


async def test_real_resolution_of_localhost() -> None:
    addresses = await resolve_hostname("localhost")
    assert "127.0.0.1" in addresses or "::1" in addresses


async def test_assets_of_other_orgs_and_modes_do_not_count(app: Any, org: OrgKeys, other_org: OrgKeys) -> None:
    await register(other_org.live, "127.0.9.1")
    await register(org.test, "127.0.9.1")
    with pytest.raises(TargetOutOfScope):
        await _check(app, org, "127.0.9.1")
