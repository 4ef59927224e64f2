"""Client: the blocking transport around the shared core in `_base.py` (mirrors `_async/client.py`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .._base import (
    ClientOptions,
    RawResponse,
    RequestSpec,
    build_headers,
    clean_params,
    connection_error,
    decode,
    error_from_response,
    prepare,
    retry_delay,
    should_retry_exception,
    should_retry_response,
)
from ..models import CyberVaultObject
from ..pagination import Page

T = TypeVar("T", bound=CyberVaultObject)


class SyncAPIClient:
    """Sends one logical request, retrying it as `_base` decides; the resources build on `request()`."""

    def __init__(self, options: ClientOptions, http_client: httpx.Client | None = None) -> None:
        self._options = options
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=options.timeout, follow_redirects=False)

    @property
    def options(self) -> ClientOptions:
        return self._options

    def request(self, spec: RequestSpec) -> Any:
        """Send with retries; the decoded 2xx body, or a typed error."""
        return decode(self.send(spec))

    def raw_request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                    json: Mapping[str, Any] | None = None, idempotency_key: str | None = None) -> RawResponse:
        """Call any endpoint (for routes newer than this SDK): status, headers and decoded body of a 2xx.

        Non-2xx responses raise the same typed errors as the resources, after the same retries.
        """
        spec = RequestSpec(method.upper(), path, params=clean_params(params),
                           body=dict(json) if json is not None else None, idempotency_key=idempotency_key)
        response = self.send(spec)
        return RawResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                           decode(response) if response.content else None)

    def send(self, spec: RequestSpec) -> httpx.Response:
        spec = prepare(spec)
        headers = build_headers(self._options, spec)
        url = self._options.base_url + spec.path
        timeout = spec.timeout if spec.timeout is not None else self._options.timeout
        attempt = 0
        while True:
            try:
                response = self._http.request(spec.method, url, params=spec.params, json=spec.body,
                                              headers=headers, timeout=timeout)
            except httpx.TransportError as exc:
                if attempt < self._options.max_retries and should_retry_exception(exc, spec):
                    attempt += 1
                    self.sleep(retry_delay(attempt, self._options))
                    continue
                raise connection_error(exc, spec, self._options) from exc
            if response.is_success:
                return response
            if attempt < self._options.max_retries and should_retry_response(response):
                attempt += 1
                self.sleep(retry_delay(attempt, self._options, response))
                continue
            raise error_from_response(response)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def get_page(self, path: str, params: dict[str, Any], model: type[T]) -> Page[T]:
        payload = self.request(RequestSpec("GET", path, params=clean_params(params)))
        return Page(self, payload, model, path, params)

    def pager(self, path: str, params: Mapping[str, Any], model: type[T]) -> Page[T]:
        # Sync lists fetch their first page at once, so a bad filter raises where list() is called.
        return self.get_page(path, {k: v for k, v in params.items() if v is not None}, model)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SyncAPIClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
