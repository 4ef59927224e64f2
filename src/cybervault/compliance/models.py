"""Compliance tables: attestations, posture history, and the last status seen per requirement.

No foreign keys to other domains: compliance reads their tables but must keep working (reporting
not_assessed) when a domain is absent, and must never block their migrations.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cybervault.kit.db import Base, TenantMixin, UTCDateTime, utcnow


class Attestation(TenantMixin, Base):
    """A person's statement that a control is met (or not), with evidence and an expiry."""

    __tablename__ = "compliance_attestations"
    __table_args__ = (Index("ix_compliance_attestations_tenant_control", "org_id", "livemode", "control_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    control_id: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))  # pass | partial | fail | not_applicable
    evidence_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    attested_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PostureSnapshot(TenantMixin, Base):
    """One point of posture history: scores and counts per framework, control statuses."""

    __tablename__ = "compliance_posture_snapshots"
    __table_args__ = (Index("ix_compliance_snapshots_tenant_id", "org_id", "livemode", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(40))  # schedule | data_change | attestation | manual
    frameworks: Mapped[dict[str, Any]] = mapped_column()  # id -> {score, counts}
    controls: Mapped[dict[str, Any]] = mapped_column()  # control id -> status
    changes: Mapped[int] = mapped_column(Integer, default=0)  # requirement flips since the previous one
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RequirementStatus(Base):
    """The status each requirement had at the last evaluation, to detect flips."""

    __tablename__ = "compliance_requirement_status"

    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    framework: Mapped[str] = mapped_column(String(20), primary_key=True)
    requirement_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    evaluated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvaluationState(Base):
    """Per org and mode: when posture was last evaluated and snapshotted (the change-detection watermark)."""

    __tablename__ = "compliance_evaluation_state"

    org_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    last_evaluated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_snapshot_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
