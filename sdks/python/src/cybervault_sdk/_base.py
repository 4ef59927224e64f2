"""The transport-independent core shared by `Client` and `AsyncClient`.

Everything here is pure: option resolution, request building, the retry decision and its delay,
and turning an error response into a typed exception. The sync and async clients only add I/O.
"""

from __future__ import annotations

import email.utils
import os
import platform
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._version import __version__
from .errors import (
    APIConnectionError,
    APITimeoutError,
    CyberVaultError,
    error_class_for_status,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 80.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server hint (Retry-After / X-RateLimit-Reset) is honoured up to this many seconds.
DEFAULT_MAX_RETRY_WAIT = 60.0

# 409s that describe a final state: retrying cannot change the answer.
PERMANENT_CONFLICT_CODES = frozenset({"scan_not_cancelable", "conflict"})

Params = Mapping[str, Any]


@dataclass(frozen=True)
class ClientOptions:
    api_key: str = field(repr=False)  # never in logs or tracebacks
    base_url: str
    timeout: float
    max_retries: int
    max_retry_wait: float
    default_headers: Mapping[str, str]


def resolve_options(
    api_key: str | None,
    base_url: str | None,
    timeout: float | None,
    max_retries: int | None,
    max_retry_wait: float | None,
    default_headers: Mapping[str, str] | None,
) -> ClientOptions:
    key = api_key if api_key is not None else os.environ.get("CYBERVAULT_API_KEY")
    if not key:
        raise CyberVaultError(
            "No API key given. Pass api_key=... or set CYBERVAULT_API_KEY "
            "(`make run` prints a demo key the first time it starts).",
            code="missing_api_key",
        )
    url = base_url or os.environ.get("CYBERVAULT_BASE_URL") or DEFAULT_BASE_URL
    retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
    if retries < 0:
        raise ValueError("max_retries must be >= 0")
    return ClientOptions(
        api_key=key,
        base_url=url.rstrip("/"),
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        max_retries=retries,
        max_retry_wait=DEFAULT_MAX_RETRY_WAIT if max_retry_wait is None else max_retry_wait,
        default_headers=dict(default_headers or {}),
    )


def user_agent() -> str:
    return f"cybervault-sdk-python/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"


def new_idempotency_key() -> str:
    return f"cvsdk-{uuid.uuid4()}"


def clean_params(params: Params | None) -> dict[str, Any]:
    """Drop None values and spell booleans and lists the way the API reads them."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple, set, frozenset)):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = value
    return out


def clean_body(body: Params | None) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class RequestSpec:
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    idempotency_key: str | None = None
    # False for the few GETs with side effects (the seed's scan endpoint starts a scan): such a request
    # is retried only when it certainly never reached the server.
    idempotent: bool = True
    timeout: float | None = None


def build_headers(options: ClientOptions, spec: RequestSpec) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {options.api_key}",
        "Accept": "application/json",
        "User-Agent": user_agent(),
        **options.default_headers,
    }
    if spec.idempotency_key is not None:
        headers["Idempotency-Key"] = spec.idempotency_key
    return headers


def prepare(spec: RequestSpec) -> RequestSpec:
    """Give every POST an Idempotency-Key, generated once so every retry sends the same one."""
    if spec.method.upper() == "POST" and spec.idempotency_key is None:
        spec.idempotency_key = new_idempotency_key()
    return spec


# ---- retries ---------------------------------------------------------------------------------------

def _error_code(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def should_retry_response(response: httpx.Response) -> bool:
    status = response.status_code
    if status == 409:
        return _error_code(response) not in PERMANENT_CONFLICT_CODES
    return status == 429 or status >= 500


def should_retry_exception(exc: Exception, spec: RequestSpec) -> bool:
    if not isinstance(exc, httpx.TransportError):
        return False
    if spec.idempotent or spec.idempotency_key is not None:
        return True
    # Not idempotent: retry only failures that happened before the request was sent.
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))


def _hinted_delay(headers: Mapping[str, str], status: int | None, now: float) -> float | None:
    """Seconds the server asked us to wait: Retry-After first, then X-RateLimit-Reset on a 429."""
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:  # an HTTP date
                return max(0.0, email.utils.parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if status == 429 and reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def retry_delay(attempt: int, options: ClientOptions, response: httpx.Response | None = None,
                *, now: float | None = None) -> float:
    """Delay before retry number `attempt` (1-based).

    A server hint wins, capped at `max_retry_wait`; otherwise exponential backoff
    (0.5 s, 1 s, 2 s … up to 8 s) with jitter in [50 %, 100 %] so many clients do not retry in step.
    """
    if response is not None:
        hinted = _hinted_delay(response.headers, response.status_code, time.time() if now is None else now)
        if hinted is not None:
            return min(hinted, options.max_retry_wait)
    backoff: float = min(INITIAL_RETRY_DELAY * 2.0 ** (attempt - 1), MAX_RETRY_DELAY)
    return backoff * (0.5 + random.random() / 2)


# ---- responses -------------------------------------------------------------------------------------

def error_from_response(response: httpx.Response) -> CyberVaultError:
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    error: dict[str, Any] = {}
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
    cls = error_class_for_status(response.status_code)
    message = error.get("message") or f"HTTP {response.status_code} from {response.request.url.path}"
    return cls(
        str(message),
        code=error.get("code"),
        documentation_url=error.get("documentation_url"),
        request_id=error.get("request_id") or response.headers.get("x-request-id"),
        http_status=response.status_code,
        param=error.get("param"),
        headers={k.lower(): v for k, v in response.headers.items()},
        body=payload if isinstance(payload, dict) else None,
    )


def connection_error(exc: Exception, spec: RequestSpec, options: ClientOptions) -> APIConnectionError:
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    what = "timed out" if cls is APITimeoutError else "failed"
    return cls(f"Request to {options.base_url}{spec.path} {what}: {type(exc).__name__}: {exc}",
               code="connection_error")


def decode(response: httpx.Response) -> dict[str, Any] | str:
    """A JSON body as a dict (a bare JSON list under "data"); other bodies (CSV exports) as text."""
    if not response.content:
        return {}
    if "json" in response.headers.get("content-type", ""):
        try:
            data = response.json()
        except ValueError:
            return response.text
        return data if isinstance(data, dict) else {"data": data}
    return response.text


@dataclass(frozen=True)
class RawResponse:
    """A successful response as `raw_request()` returns it."""

    status_code: int
    headers: Mapping[str, str]
    body: dict[str, Any] | str | None

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")
