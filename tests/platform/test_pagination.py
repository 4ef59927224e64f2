"""Cursor pagination (shown on /v1/api_keys, shared by every list): bounds, cursors, has_more, and
stability while new objects are inserted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import OrgKeys


async def _make_keys(org: OrgKeys, n: int) -> list[str]:
    return [(await org.test.post("/v1/api_keys", json={"name": f"k{i}"})).json()["id"] for i in range(n)]


async def _page(org: OrgKeys, **params: Any) -> dict[str, Any]:
    response = await org.test.get("/v1/api_keys", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_limit_out_of_bounds_is_400(org: OrgKeys, limit: str) -> None:
    response = await org.test.get("/v1/api_keys", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"


async def test_bad_cursors_are_400(org: OrgKeys) -> None:
    both = await org.test.get("/v1/api_keys", params={"starting_after": "key_a", "ending_before": "key_b"})
    assert both.status_code == 400
    junk = await org.test.get("/v1/api_keys", params={"starting_after": "'; drop table"})
    assert junk.status_code == 400 and junk.json()["error"]["param"] == "starting_after"


async def test_walk_forward_and_back(org: OrgKeys) -> None:
    created = await _make_keys(org, 5)
    everything = [k["id"] for k in (await _page(org, limit=100))["data"]]
    assert everything == sorted(everything, reverse=True), "newest first"
    assert everything[:5] == created[::-1]
    assert len(everything) == 6  # plus the org's own test key

    first = await _page(org, limit=2)
    assert first["object"] == "list" and first["url"] == "/v1/api_keys" and first["has_more"] is True
    assert first["data"] == (await _page(org))["data"][:2]  # default limit 10 starts at the same place
    seen, page = [k["id"] for k in first["data"]], first
    while page["has_more"]:
        page = await _page(org, limit=2, starting_after=seen[-1])
        seen += [k["id"] for k in page["data"]]
    assert seen == everything and page["has_more"] is False

    back = await _page(org, limit=2, ending_before=everything[2])
    assert [k["id"] for k in back["data"]] == everything[:2] and back["has_more"] is False
    back_more = await _page(org, limit=1, ending_before=everything[3])
    assert [k["id"] for k in back_more["data"]] == everything[2:3] and back_more["has_more"] is True
    assert (await _page(org, limit=5, starting_after=everything[-1]))["data"] == []


async def test_stable_under_concurrent_inserts(org: OrgKeys) -> None:
    await _make_keys(org, 4)
    original = [k["id"] for k in (await _page(org, limit=100))["data"]]
    first = await _page(org, limit=2)
    await _make_keys(org, 3)  # new objects arrive while the client is paging
    seen, page = [k["id"] for k in first["data"]], first
    while page["has_more"]:
        page = await _page(org, limit=2, starting_after=seen[-1])
        seen += [k["id"] for k in page["data"]]
    assert seen == original, "no duplicates and no skips"
