"""The SDK against the real per-key rate limit (needs an org with a small limit, so main suite only)."""

from __future__ import annotations

import asyncio
from typing import Any

import cybervault_sdk

from tests.helpers import LiveServer, make_org


async def test_real_429_is_retried_then_raised_with_its_details(app: Any, live_server: LiveServer) -> None:
    keys = await make_org(app, "SDK rate-limited org", rate_limit=3)
    await keys.live.aclose()
    await keys.test.aclose()

    def run() -> cybervault_sdk.RateLimitError:
        # max_retry_wait caps the server's Retry-After (the rest of the minute) so the test stays fast.
        with cybervault_sdk.Client(api_key=keys.test_key, base_url=live_server.url, max_retries=1,
                                   max_retry_wait=0.1) as client:
            for _ in range(3):
                client.assets.list()
            try:
                client.assets.list()
            except cybervault_sdk.RateLimitError as error:
                return error
        raise AssertionError("the fourth request in the minute was not limited")

    error = await asyncio.to_thread(run)
    assert (error.http_status, error.code) == (429, "rate_limit_exceeded")
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert error.headers["x-ratelimit-limit"] == "3" and error.headers["x-ratelimit-remaining"] == "0"
    assert error.request_id and error.documentation_url.endswith("/docs/errors/rate_limit_exceeded")
