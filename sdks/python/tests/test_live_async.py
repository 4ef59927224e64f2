"""The async client against a live server: the same surface, awaited; `async for` auto-pagination."""

from __future__ import annotations

import asyncio

import pytest

import cybervault_sdk
from cybervault_sdk import AsyncClient

from .support import Target, unique


async def test_async_assets_pagination_and_errors(cv: Target) -> None:
    cv.require("/v1/assets")
    tag = unique("apage")
    async with AsyncClient(api_key=cv.test_key, base_url=cv.base_url) as client:
        # Concurrent creates through one client: ids still sort by creation.
        created = [a.id for a in await asyncio.gather(
            *(client.assets.create(f"{unique('a')}.example.com", tags=[tag]) for _ in range(7)))]
        seen = [a.id async for a in client.assets.list(tag=tag, limit=3)]
        assert sorted(seen) == sorted(created) and seen == sorted(seen, reverse=True)

        first = await client.assets.list(tag=tag, limit=3)
        assert isinstance(first, cybervault_sdk.AsyncPage) and len(first.data) == 3 and first.has_more
        assert [len(p.data) async for p in first.iter_pages()] == [3, 3, 1]
        assert len(await client.assets.list(tag=tag, limit=3).to_list()) == 7

        with pytest.raises(cybervault_sdk.NotFoundError) as caught:
            await client.assets.retrieve("ast_00000000000000000000000000")
        assert caught.value.code == "resource_not_found" and caught.value.request_id


async def test_async_sandbox_scan(cv: Target) -> None:
    cv.require("/v1/threats/scan")
    async with AsyncClient(api_key=cv.test_key, base_url=cv.base_url) as client:
        scan = await client.threats.scan("192.168.1.0/24", depth="standard")
        assert scan.status == "completed" and scan.threats_found == 2
        assert "CVE-2017-5638" in {f.cve for f in scan.findings}
        assert (await client.scans.retrieve(scan.scan_id)).scan_id == scan.scan_id


async def test_async_invalid_key(cv: Target) -> None:
    async with AsyncClient(api_key="cv_live_sk_000000000000000000000000000000", base_url=cv.base_url) as client:
        with pytest.raises(cybervault_sdk.AuthenticationError) as caught:
            await client.api_keys.list().first_page()
    assert caught.value.message == "The provided API key is expired or invalid."


async def test_async_incidents(cv: Target) -> None:
    cv.require("/v1/incidents", "/v1/incidents/{incident_id}")
    async with AsyncClient(api_key=cv.test_key, base_url=cv.base_url) as client:
        incident = await client.incidents.create(title="Async incident", severity="low", description="From asyncio")
        assert (await client.incidents.retrieve(incident.id)).title == "Async incident"
        assert incident.id in [i.id async for i in client.incidents.list(limit=100)]
