"""Request bodies for /v1/api_keys."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from cybervault.kit.schemas import RequestModel


class ApiKeyCreate(RequestModel):
    type: Literal["sk", "rk"] = Field("sk", description="sk: full access; rk: restricted to `scopes`.")
    mode: Literal["live", "test"] | None = Field(
        None, description="Defaults to the calling key's mode; a key can only create keys in its own mode.")
    name: str = Field("", max_length=200)
    scopes: list[str] | None = Field(None, max_length=64,
                                      description="For rk keys, e.g. ['scans:read', 'incidents:write'].")
    expires_at: dt.datetime | None = Field(None, description="ISO-8601 time after which the key stops working.")


class ApiKeyRoll(RequestModel):
    grace_period_seconds: int = Field(
        0, ge=0, le=7 * 86400,
        description="How long the old key keeps working (0 to 604800 seconds; 0 revokes it at once).")
