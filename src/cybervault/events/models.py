from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cybervault.kit.db import Base, TenantMixin, UTCDateTime, utcnow


class Event(TenantMixin, Base):
    """A domain event, recorded once in the transaction that caused it."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_type", "org_id", "livemode", "type"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
