from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from cybervault.kit.schemas import RequestModel

Criticality = Literal["low", "medium", "high", "critical"]
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/=+@-]*$")


def _check_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag or len(tag) > 64 or not _TAG.match(tag):
            raise ValueError("each tag is 1 to 64 characters: letters, digits, space and _ . : / = + @ -")
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


class AssetCreate(RequestModel):
    target: str = Field(max_length=255, description="An IP address, CIDR range or hostname.")
    name: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=50)
    criticality: Criticality = "medium"
    environment: str | None = Field(None, max_length=64)
    owner: str | None = Field(None, max_length=200)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return _check_tags(value)


class AssetUpdate(RequestModel):
    target: str | None = Field(None, max_length=255)
    name: str | None = Field(None, max_length=200)
    tags: list[str] | None = Field(None, max_length=50)
    criticality: Criticality | None = None
    environment: str | None = Field(None, max_length=64)
    owner: str | None = Field(None, max_length=200)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return _check_tags(value)
