"""Request bodies for webhook endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from cybervault.events.service import EVENT_TYPES
from cybervault.kit.schemas import RequestModel

EVENT_PREFIXES = sorted({t.split(".")[0] for t in EVENT_TYPES})


def _check_events(value: list[str]) -> list[str]:
    cleaned: list[str] = []
    for item in value:
        item = item.strip()
        valid = item == "*" or item in EVENT_TYPES or (item.endswith(".*") and item[:-2] in EVENT_PREFIXES)
        if not valid:
            raise ValueError(f"unknown event type '{item}'; use one of {', '.join(EVENT_TYPES)}, "
                             "'<prefix>.*' or '*'")
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


class WebhookEndpointCreate(RequestModel):
    url: str = Field(max_length=2048, description="http(s) URL that receives POSTed events")
    enabled_events: list[str] = Field(min_length=1, max_length=50,
                                      description="Event types, 'incident.*' style prefixes, or ['*']")
    description: str | None = Field(None, max_length=500)

    _events = field_validator("enabled_events")(_check_events)


class WebhookEndpointUpdate(RequestModel):
    url: str | None = Field(None, max_length=2048)
    enabled_events: list[str] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=500)
    status: Literal["enabled", "disabled"] | None = None

    @field_validator("enabled_events")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_events(value)
