"""Prometheus metrics: requests by route and status, latency, rate-limit rejections, queue depth."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("cybervault_http_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("cybervault_http_request_duration_seconds", "Request latency", ["route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.rejections = Counter("cybervault_rate_limit_rejections_total", "Requests refused by rate limits",
                                  registry=self.registry)
        self.gateway = Counter("cybervault_gateway_errors_total", "Errors returned by the gateway", ["code"],
                               registry=self.registry)
        self.queue_depth = Gauge("cybervault_job_queue_depth", "Jobs waiting, by status", ["status"],
                                 registry=self.registry)

    def rate_limited(self) -> None:
        self.rejections.inc()

    def gateway_rejection(self, code: str) -> None:
        self.gateway.labels(code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - start)
