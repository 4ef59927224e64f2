"""AsyncClient: the async transport plus one attribute per API area (DESIGN §4.4).

The `_async/` resource modules are the source of truth; `_sync/` holds their blocking twins, generated
by `scripts/unasync.py` (a test fails when they drift apart). Write code here that stays valid after
the rewrite: `await x` → `x`, `async def` → `def`, `AsyncPager` → `Page`, `AsyncAPIClient` → `SyncAPIClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from .._base import resolve_options
from .client import AsyncAPIClient
from .incidents import Incidents, NotificationChannels, TriageRules
from .platform import ApiKeys, AuditLogs, Compliance, Events, WebhookDeliveries, WebhookEndpoints
from .threats import Assets, Cves, Findings, Scans, ScanSchedules, Threats


class AsyncClient(AsyncAPIClient):
    """The CyberVault API client.

    `api_key` defaults to `CYBERVAULT_API_KEY`, `base_url` to `CYBERVAULT_BASE_URL` (else
    http://127.0.0.1:8000). Failed requests are retried `max_retries` times (default 2) with
    exponential backoff and jitter; a server's Retry-After / X-RateLimit-Reset is honoured up to
    `max_retry_wait` seconds.
    """

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 timeout: float | None = None, max_retries: int | None = None,
                 max_retry_wait: float | None = None, default_headers: Mapping[str, str] | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(resolve_options(api_key, base_url, timeout, max_retries, max_retry_wait, default_headers),
                         http_client)
        self.threats = Threats(self)
        self.scans = Scans(self)
        self.findings = Findings(self)
        self.scan_schedules = ScanSchedules(self)
        self.assets = Assets(self)
        self.cves = Cves(self)
        self.incidents = Incidents(self)
        self.notification_channels = NotificationChannels(self)
        self.triage_rules = TriageRules(self)
        self.compliance = Compliance(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.webhook_deliveries = WebhookDeliveries(self)
        self.events = Events(self)
        self.api_keys = ApiKeys(self)
        self.audit_logs = AuditLogs(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
