from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cybervault.kit.db import Base, TenantMixin, TimestampMixin, UTCDateTime

ACTIVE_STATUSES = ("queued", "running")
FINISHED_STATUSES = ("completed", "failed", "canceled")


class Scan(TenantMixin, TimestampMixin, Base):
    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_tenant_status", "org_id", "livemode", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    depth: Mapped[str] = mapped_column(String(10))
    include_vulns: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    threats_found: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    schedule_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Finding(TenantMixin, TimestampMixin, Base):
    """One problem on one host and port. Re-scans update it (by fingerprint) instead of duplicating it."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("org_id", "livemode", "fingerprint"),
        Index("ix_findings_tenant_status", "org_id", "livemode", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    details: Mapped[str] = mapped_column(Text)
    cve: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    protocol: Mapped[str] = mapped_column(String(8), default="tcp")
    service: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    cvss: Mapped[float | None] = mapped_column(Float, nullable=True)
    kev: Mapped[bool] = mapped_column(Boolean, default=False)
    epss: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[str] = mapped_column(String(10), default="confirmed")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    scan_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ScanFinding(Base):
    """Which findings a scan produced, so a scan shows its own results after later re-scans."""

    __tablename__ = "scan_findings"

    scan_id: Mapped[str] = mapped_column(String(40), ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)
    finding_id: Mapped[str] = mapped_column(String(40), ForeignKey("findings.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class ScanSchedule(TenantMixin, TimestampMixin, Base):
    __tablename__ = "scan_schedules"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    target: Mapped[str | None] = mapped_column(String(255), nullable=True)
    asset_ids: Mapped[list[Any]] = mapped_column(default=list)
    depth: Mapped[str] = mapped_column(String(10), default="standard")
    include_vulns: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_scan_ids: Mapped[list[Any]] = mapped_column(default=list)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
