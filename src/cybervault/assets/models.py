from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cybervault.kit.db import Base, TenantMixin, TimestampMixin, UTCDateTime


class Asset(TenantMixin, TimestampMixin, Base):
    """Something the org owns and may scan: one IP, a CIDR range or a hostname."""

    __tablename__ = "assets"
    # One asset per normalized target in an org and mode; overlapping ranges are separate targets.
    __table_args__ = (UniqueConstraint("org_id", "livemode", "target"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))  # ip | cidr | hostname
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    criticality: Mapped[str] = mapped_column(String(10), default="medium")
    environment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_scanned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
