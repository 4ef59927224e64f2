"""Base classes for request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Request bodies reject unknown fields, so mass assignment is impossible."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    documentation_url: str
    param: str | None = None
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ListResponse(BaseModel):
    object: str = "list"
    url: str
    has_more: bool
    data: list[dict]  # type: ignore[type-arg]
