"""Threat scanning, findings, schedules, assets and CVEs (sync).

GENERATED from `_async/threats.py` by `scripts/unasync.py`: edit that file, not this one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..errors import ScanTimeoutError
from ..models import Asset, Cve, DeletedObject, Finding, Scan, ScanSchedule
from ..pagination import Page
from ._resource import Resource, _Crud, _path_id

SERVER_MAX_WAIT = 60  # the seed endpoint waits at most this long per request


class Threats(Resource):
    def scan(self, target_ip: str, *, depth: str | None = None, include_vulns: bool | None = None,
                   timeout: float = 300.0, poll_interval: float = 1.0) -> Scan:
        """Run a scan and wait for it to finish (the seed's `GET /v1/threats/scan`).

        The server holds the request up to `wait` seconds; if the scan is still running the SDK polls
        `GET /v1/threats/scans/{id}` until it completes, fails or is canceled, or `timeout` passes
        (then `ScanTimeoutError` carries the scan as last seen). A failed scan is returned, not raised:
        check `scan.status` and `scan.error`.
        """
        deadline = time.monotonic() + timeout
        wait = max(0, min(SERVER_MAX_WAIT, int(timeout)))
        # This GET starts a scan, so it is retried only when the request never reached the server.
        scan = self._call("GET", "/v1/threats/scan", Scan, idempotent=False, timeout=wait + 30.0,
                                params={"target_ip": target_ip, "depth": depth, "include_vulns": include_vulns,
                                        "wait": wait})
        scan_id = scan.scan_id or scan.id
        while not scan.is_finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or scan_id is None:
                raise ScanTimeoutError(f"Scan {scan_id} still {scan.status} after {timeout:.0f}s.", scan=scan)
            self._client.sleep(min(poll_interval, remaining))
            scan = self._call("GET", f"/v1/threats/scans/{_path_id(scan_id)}", Scan)
        return scan


class Scans(Resource):
    def create(self, target_ip: str, *, depth: str | None = None, include_vulns: bool | None = None,
                     idempotency_key: str | None = None, **extra: Any) -> Scan:
        """Queue a scan (202) and return at once; see `wait()` or `Threats.scan()` to wait for it."""
        body = {"target_ip": target_ip, "depth": depth, "include_vulns": include_vulns, **extra}
        return self._call("POST", "/v1/threats/scans", Scan, body=body, idempotency_key=idempotency_key)

    def retrieve(self, scan_id: str) -> Scan:
        return self._call("GET", f"/v1/threats/scans/{_path_id(scan_id)}", Scan)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, status: str | None = None, **filters: Any) -> Page[Scan]:
        return self._client.pager("/v1/threats/scans", {"limit": limit, "starting_after": starting_after,
                                                         "ending_before": ending_before, "status": status,
                                                         **filters}, Scan)

    def cancel(self, scan_id: str, *, idempotency_key: str | None = None) -> Scan:
        return self._call("POST", f"/v1/threats/scans/{_path_id(scan_id)}/cancel", Scan,
                                idempotency_key=idempotency_key)

    def wait(self, scan_id: str, *, timeout: float = 300.0, poll_interval: float = 1.0) -> Scan:
        """Poll a scan until it completes, fails or is canceled."""
        deadline = time.monotonic() + timeout
        scan = self.retrieve(scan_id)
        while not scan.is_finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScanTimeoutError(f"Scan {scan_id} still {scan.status} after {timeout:.0f}s.", scan=scan)
            self._client.sleep(min(poll_interval, remaining))
            scan = self.retrieve(scan_id)
        return scan


class Findings(Resource):
    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, severity: str | None = None, type: str | None = None,
             host: str | None = None, cve: str | None = None, status: str | None = None,
             **filters: Any) -> Page[Finding]:
        return self._client.pager("/v1/threats/findings", {
            "limit": limit, "starting_after": starting_after, "ending_before": ending_before,
            "severity": severity, "type": type, "host": host, "cve": cve, "status": status, **filters}, Finding)

    def retrieve(self, finding_id: str) -> Finding:
        return self._call("GET", f"/v1/threats/findings/{_path_id(finding_id)}", Finding)

    def update(self, finding_id: str, *, status: str | None = None, reason: str | None = None,
                     **fields: Any) -> Finding:
        """Set a finding's status: open, resolved or accepted_risk (which needs a `reason`)."""
        return self._call("PATCH", f"/v1/threats/findings/{_path_id(finding_id)}", Finding,
                                body={"status": status, "reason": reason, **fields})


class ScanSchedules(_Crud[ScanSchedule]):
    path = "/v1/threats/schedules"
    model = ScanSchedule

    def create(self, *, idempotency_key: str | None = None, **fields: Any) -> ScanSchedule:
        """Fields: `target` or `asset_ids`, `depth`, `include_vulns`, `interval_minutes` (>= 15)."""
        return self._create(fields, idempotency_key)

    def retrieve(self, schedule_id: str) -> ScanSchedule:
        return self._retrieve(schedule_id)

    def list(self, *, limit: int | None = None, **params: Any) -> Page[ScanSchedule]:
        return self._client.pager(self.path, {"limit": limit, **params}, ScanSchedule)

    def delete(self, schedule_id: str) -> DeletedObject:
        return self._delete(schedule_id)


# ---- assets, cves ----------------------------------------------------------------------------------

class Assets(_Crud[Asset]):
    path = "/v1/assets"
    model = Asset

    def create(self, target: str, *, name: str | None = None, tags: Sequence[str] | None = None,
                     criticality: str | None = None, environment: str | None = None,
                     owner: str | None = None, idempotency_key: str | None = None, **extra: Any) -> Asset:
        body = {"target": target, "name": name, "tags": list(tags) if tags is not None else None,
                "criticality": criticality, "environment": environment, "owner": owner, **extra}
        return self._create(body, idempotency_key)

    def retrieve(self, asset_id: str) -> Asset:
        return self._retrieve(asset_id)

    def list(self, *, limit: int | None = None, starting_after: str | None = None,
             ending_before: str | None = None, tag: str | None = None, criticality: str | None = None,
             environment: str | None = None, **filters: Any) -> Page[Asset]:
        return self._client.pager(self.path, {
            "limit": limit, "starting_after": starting_after, "ending_before": ending_before, "tag": tag,
            "criticality": criticality, "environment": environment, **filters}, Asset)

    def update(self, asset_id: str, **fields: Any) -> Asset:
        return self._update(asset_id, fields)

    def delete(self, asset_id: str) -> DeletedObject:
        return self._delete(asset_id)


class Cves(Resource):
    def retrieve(self, cve_id: str) -> Cve:
        return self._call("GET", f"/v1/cves/{_path_id(cve_id)}", Cve)

    def search(self, *, product: str | None = None, version: str | None = None, cpe: str | None = None,
               kev: bool | None = None, limit: int | None = None, starting_after: str | None = None,
               **filters: Any) -> Page[Cve]:
        return self._client.pager("/v1/cves", {"product": product, "version": version, "cpe": cpe, "kev": kev,
                                               "limit": limit, "starting_after": starting_after, **filters}, Cve)

    list = search
