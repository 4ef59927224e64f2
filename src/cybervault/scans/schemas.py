from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cybervault.kit.schemas import RequestModel

Depth = Literal["quick", "standard", "deep"]
FindingStatus = Literal["open", "resolved", "accepted_risk"]
Severity = Literal["low", "medium", "high", "critical"]
FindingType = Literal["open_port", "vulnerable_service", "unauthenticated_service", "cleartext_protocol",
                      "weak_tls", "certificate_problem"]
ScanStatus = Literal["queued", "running", "completed", "failed", "canceled"]


class ScanCreate(RequestModel):
    target_ip: str = Field(max_length=255, description="IP address, CIDR range or hostname to scan.")
    depth: Depth = "standard"
    include_vulns: bool = True


class FindingUpdate(RequestModel):
    status: FindingStatus
    reason: str | None = Field(None, max_length=2000, description="Required when accepting the risk.")


class ScheduleCreate(RequestModel):
    target: str | None = Field(None, max_length=255, description="An IP, CIDR or hostname to scan.")
    asset_ids: list[str] | None = Field(None, max_length=100, description="Or: assets whose targets to scan.")
    depth: Depth = "standard"
    include_vulns: bool = True
    interval_minutes: int = Field(ge=15, le=525_600)
    active: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> ScheduleCreate:
        if bool(self.target) == bool(self.asset_ids):
            raise ValueError("give exactly one of 'target' and 'asset_ids'")
        return self
