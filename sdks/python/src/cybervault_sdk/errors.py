"""Typed errors. Every error the API returns becomes one of these, chosen by HTTP status.

Catch `CyberVaultError` for everything, or a subclass for one kind of failure. Each carries the fields of
the API's error object (`code`, `message`, `documentation_url`, `param`, `request_id`) and `http_status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CyberVaultError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "InvalidRequestError",
    "ConflictError",
    "RateLimitError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "ScanTimeoutError",
    "WebhookVerificationError",
]


class CyberVaultError(Exception):
    """Base class of every error this SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        documentation_url: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.documentation_url = documentation_url
        self.request_id = request_id
        self.http_status = http_status
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})
        # The decoded JSON error body as the server sent it (empty when there was no response).
        self.body: dict[str, Any] = dict(body or {})

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code={self.code}")
        if self.param:
            parts.append(f"param={self.param}")
        if self.http_status is not None:
            parts.append(f"http_status={self.http_status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " | ".join(parts)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(message={self.message!r}, code={self.code!r}, "
                f"http_status={self.http_status!r}, request_id={self.request_id!r})")


class AuthenticationError(CyberVaultError):
    """401: the API key is missing, unknown, expired or revoked (`invalid_api_key`)."""


class PermissionDeniedError(CyberVaultError):
    """403: the key lacks a scope, or a scan target is outside the organization's scope."""


class NotFoundError(CyberVaultError):
    """404: no such object for this key's organization and mode, or an unknown URL."""


class InvalidRequestError(CyberVaultError):
    """400 (and 405, 413, 415, 422): the request was malformed; `param` names the offending field."""


class ConflictError(CyberVaultError):
    """409: an idempotency conflict or a state conflict (for example a finished scan cannot be canceled)."""


class RateLimitError(CyberVaultError):
    """429: too many requests; raised only once the SDK's retries are used up. See `retry_after`."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class APIError(CyberVaultError):
    """5xx, or any other status without a more specific class."""


class APIConnectionError(CyberVaultError):
    """The server could not be reached or the connection dropped; no HTTP response was received."""


class APITimeoutError(APIConnectionError):
    """The request timed out before a response arrived."""


class ScanTimeoutError(CyberVaultError):
    """`threats.scan()` gave up waiting; `scan` holds the scan as last seen (still queued or running)."""

    def __init__(self, message: str, *, scan: Any) -> None:
        super().__init__(message, code="scan_wait_timeout")
        self.scan = scan


class WebhookVerificationError(CyberVaultError):
    """A webhook payload failed verification: bad or missing signature, or a stale timestamp.

    `code` is one of `missing_signature`, `invalid_signature`, `missing_timestamp`, `invalid_timestamp`,
    `timestamp_outside_tolerance`, `invalid_secret`, `invalid_payload`.
    """


_BY_STATUS: dict[int, type[CyberVaultError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: InvalidRequestError,
    409: ConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[CyberVaultError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 400 <= status < 500:
        return InvalidRequestError
    return APIError
