"""/metrics: requests by route and status, a latency histogram, rate-limit rejections, job queue depth."""

from __future__ import annotations

import re
from typing import Any

import httpx

from cybervault.jobs.models import Job
from cybervault.kit.db import utcnow
from cybervault.kit.ids import new_id
from tests.helpers import make_org


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} ([0-9.e+]+)$", text, re.M)
    assert match, f"{series} not in /metrics"
    return float(match.group(1))


async def test_metrics_exposes_the_operational_series(app: Any, client: httpx.AsyncClient) -> None:
    org = await make_org(app, "Metrics", rate_limit=2)
    before = (await client.get("/metrics")).text
    rejected_before = _value(before, "cybervault_rate_limit_rejections_total")
    for _ in range(3):
        await org.live.get("/v1/api_keys")
    await client.get("/v1/nowhere")
    # A job row far in the future stays queued, so queue depth is at least one.
    async with app.state.db.session() as session:
        session.add(Job(id=new_id("job"), kind="diagnostics.sleep", payload={}, status="queued", attempts=0,
                        max_attempts=1, run_at=utcnow().replace(year=utcnow().year + 50)))
        await session.commit()

    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _value(text, 'cybervault_http_requests_total{method="GET",route="/v1/api_keys",status="200"}') >= 2
    assert _value(text, 'cybervault_http_requests_total{method="GET",route="/v1/api_keys",status="429"}') >= 1
    assert _value(text, 'cybervault_http_requests_total{method="GET",route="unmatched",status="401"}') >= 1
    assert _value(text, 'cybervault_http_request_duration_seconds_count{route="/v1/api_keys"}') >= 3
    assert 'cybervault_http_request_duration_seconds_bucket{le="0.1",route="/v1/api_keys"}' in text
    assert _value(text, "cybervault_rate_limit_rejections_total") >= rejected_before + 1
    assert _value(text, 'cybervault_job_queue_depth{status="queued"}') >= 1
    await org.live.aclose()
    await org.test.aclose()
