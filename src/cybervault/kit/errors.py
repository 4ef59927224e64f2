"""Typed domain errors. Services raise these; one handler turns each into the error object."""

from __future__ import annotations

from typing import Any


class CyberVaultError(Exception):
    status_code = 400
    code = "invalid_request"
    default_message = "The request was invalid."

    def __init__(self, message: str | None = None, *, param: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message)


class InvalidRequest(CyberVaultError):
    status_code, code = 400, "invalid_request"


class InvalidApiKey(CyberVaultError):
    status_code, code = 401, "invalid_api_key"
    default_message = "The provided API key is expired or invalid."


class InsufficientPermissions(CyberVaultError):
    status_code, code = 403, "insufficient_permissions"
    default_message = "This API key does not have the permission this request needs."


class ResourceNotFound(CyberVaultError):
    status_code, code = 404, "resource_not_found"
    default_message = "No such object."


class RouteNotFound(CyberVaultError):
    status_code, code = 404, "resource_not_found"
    default_message = "Unrecognized request URL."


class MethodNotAllowed(CyberVaultError):
    status_code, code = 405, "method_not_allowed"
    default_message = "This HTTP method is not allowed on this URL."


class IdempotencyConflict(CyberVaultError):
    status_code, code = 409, "idempotency_conflict"
    default_message = "This Idempotency-Key was already used with a different request."


class Conflict(CyberVaultError):
    status_code, code = 409, "conflict"
    default_message = "The request conflicts with the current state of the object."


class ScanNotCancelable(CyberVaultError):
    status_code, code = 409, "scan_not_cancelable"
    default_message = "This scan has already finished and cannot be canceled."


class PayloadTooLarge(CyberVaultError):
    status_code, code = 413, "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(CyberVaultError):
    status_code, code = 415, "unsupported_media_type"
    default_message = "Request bodies must be JSON (Content-Type: application/json)."


class InvalidTarget(CyberVaultError):
    status_code, code = 400, "invalid_target"
    default_message = "The scan target is not a valid IP address, CIDR range or hostname."


class TargetOutOfScope(CyberVaultError):
    status_code, code = 403, "target_out_of_scope"
    default_message = "The scan target is outside the networks this organization may scan."


class TargetTooLarge(CyberVaultError):
    status_code, code = 400, "target_too_large"
    default_message = "The scan target range is larger than the configured maximum."


class ScanLimitExceeded(CyberVaultError):
    status_code, code = 429, "scan_limit_exceeded"
    default_message = "This organization has reached its limit of scans."


class UnsafeUrl(CyberVaultError):
    status_code, code = 400, "unsafe_url"
    default_message = "The URL resolves to an address that is not allowed."


class RateLimitExceeded(CyberVaultError):
    status_code, code = 429, "rate_limit_exceeded"
    default_message = "Too many requests. Retry after the time given in Retry-After."


class InternalError(CyberVaultError):
    status_code, code = 500, "internal_error"
    default_message = "An internal error occurred. It has been logged; retry later."


class ServiceUnavailable(CyberVaultError):
    status_code, code = 503, "service_unavailable"
    default_message = "The service is temporarily unavailable. Retry later."


def all_error_classes() -> list[type[CyberVaultError]]:
    seen: dict[str, type[CyberVaultError]] = {}
    stack: list[type[CyberVaultError]] = [CyberVaultError]
    while stack:
        cls = stack.pop()
        seen.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return list(seen.values())


def all_error_codes() -> list[str]:
    return sorted({cls.code for cls in all_error_classes()})
