"""Timestamps in the API's one format: ISO-8601 UTC with a Z, to the second (2025-01-15T08:32:11Z)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import PlainSerializer

from cybervault.kit.db import utcnow

__all__ = ["Timestamp", "iso", "parse_iso", "utcnow"]


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


Timestamp = Annotated[dt.datetime, PlainSerializer(iso, return_type=str)]
