"""The API gateway: one ASGI middleware in front of every /v1 route.

In order: request id, body size and content type, authentication (with a per-IP limit on failures),
the per-key rate limit, idempotent replay of POSTs, then the route, then the audit log. Doing this in
one place keeps every route's behaviour identical and lets errors raised here use the error object.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cybervault.config import Settings
from cybervault.kit.auth import Principal
from cybervault.kit.db import Database
from cybervault.kit.errors import (
    CyberVaultError,
    IdempotencyConflict,
    InternalError,
    InvalidApiKey,
    InvalidRequest,
    PayloadTooLarge,
    RateLimitExceeded,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from cybervault.kit.http import API_CSP, SECURITY_HEADERS, accept_request_id, error_body
from cybervault.kit.key_resolver import KeyResolver
from cybervault.kit.ratelimit import RateLimitResult

log = structlog.get_logger(__name__)

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}
IDEMPOTENCY_WAIT_SECONDS = 10.0
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


@dataclass
class RequestContext:
    request_id: str
    client_ip: str
    principal: Principal | None = None
    rate: RateLimitResult | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    started: bool = False


class ApiGateway:
    def __init__(self, app: ASGIApp, *, settings: Settings, state: Any) -> None:
        self.app = app
        self.settings = settings
        self.state = state  # app.state: db, rate_limiter, metrics (set in lifespan)
        self._proxies = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]
        self._keys = KeyResolver(settings, state)

    # ---- ASGI entry ------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        ctx = RequestContext(request_id=accept_request_id(headers.get("x-request-id")),
                             client_ip=self._client_ip(scope, headers))
        scope.setdefault("state", {})
        scope["state"]["request_id"] = ctx.request_id
        scope["state"]["client_ip"] = ctx.client_ip
        is_api = scope["path"].startswith("/v1/") or scope["path"] == "/v1"
        send = self._decorate(send, ctx, is_api)
        try:
            if is_api:
                await self._api(scope, receive, send, headers, ctx)
            else:
                await self.app(scope, receive, send)
        except CyberVaultError as error:
            if not ctx.started:
                _label_route(scope)
                await self._send_error(send, error, ctx)
        except Exception as exc:
            # A crash never shows internals: log it with the request id, answer 500 internal_error.
            log.exception("request.crashed", request_id=ctx.request_id, path=scope["path"], error=type(exc).__name__)
            if not ctx.started:
                await self._send_error(send, _internal_error_for(exc), ctx)

    def _decorate(self, send: Send, ctx: RequestContext, is_api: bool) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                ctx.started = True
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                extra = {"X-Request-Id": ctx.request_id, **SECURITY_HEADERS}
                if is_api:
                    extra["Cache-Control"] = "no-store"
                    extra["Content-Security-Policy"] = API_CSP
                if self.settings.public_base_url.startswith("https://"):
                    extra["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                if ctx.rate is not None:
                    extra.update(ctx.rate.headers())
                extra.update(ctx.extra_headers)
                for name, value in extra.items():
                    if name.lower().encode() not in present:
                        raw.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": raw}
            await send(message)

        return send_with_headers

    async def _send_error(self, send: Send, error: CyberVaultError, ctx: RequestContext) -> None:
        body = json.dumps(error_body(error, request_id=ctx.request_id,
                                     base_url=self.settings.public_base_url)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
        await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        metrics = getattr(self.state, "metrics", None)
        if metrics is not None:
            metrics.gateway_rejection(error.code)

    # ---- the /v1 pipeline ------------------------------------------------------------------
    async def _api(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str],
                   ctx: RequestContext) -> None:
        method = scope["method"]
        self._refuse_key_in_query(scope)
        ctx.principal = await self._authenticate(headers, ctx)
        ctx.rate = await self.state.rate_limiter.hit("key", ctx.principal.key_id,
                                                     ctx.principal.rate_limit_per_minute)
        if not ctx.rate.allowed:
            self._count("rate_limited")
            raise RateLimitExceeded(headers={"Retry-After": str(ctx.rate.retry_after)})
        scope["state"]["principal"] = ctx.principal

        body = b""
        if method in BODY_METHODS:
            body = await self._read_body(receive, headers)
            if body.strip() and not headers.get("content-type", "").split(";")[0].strip().lower().endswith(
                    ("application/json", "+json")):
                raise UnsupportedMediaType()
            if _nested_deeper_than(body, MAX_JSON_DEPTH):
                # json.loads would recurse once per level and crash with RecursionError (a 500).
                raise InvalidRequest(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")
        replay_receive = _replay(body)

        idem_key = headers.get("idempotency-key") if method == "POST" else None
        if idem_key is not None:
            await self._idempotent(scope, replay_receive, send, ctx, idem_key, body)
            return
        if method in MUTATING:
            captured = await self._call_capturing(scope, replay_receive, send)
            await self._audit(scope, ctx, captured)
            return
        await self.app(scope, replay_receive, send)

    def _refuse_key_in_query(self, scope: Scope) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        if "cv_live_" in query or "cv_test_" in query or "api_key=" in query:
            raise InvalidRequest("API keys are accepted only in the Authorization header, never in the URL. "
                                 "Treat a key sent in a URL as leaked and roll it.", param="api_key")

    async def _authenticate(self, headers: dict[str, str], ctx: RequestContext) -> Principal:
        from cybervault.keys import principal_cache
        from cybervault.keys.secrets import hash_key

        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        principal = None
        if scheme.lower() == "bearer" and 0 < len(token) <= 128:
            secret = self.settings.secret_key.get_secret_value()
            key_hash = hash_key(token, secret)
            principal = principal_cache.get(key_hash) or await self._keys.resolve(key_hash, token, secret)
            if principal is not None:
                self._keys.touch(principal.key_id)
                return principal
        # Failed attempts are limited per client address so keys cannot be guessed quickly.
        ctx.rate = await self.state.rate_limiter.hit("authfail", ctx.client_ip,
                                                     self.settings.auth_failure_limit_per_minute)
        self._count("invalid_api_key")
        if not ctx.rate.allowed:
            raise RateLimitExceeded("Too many failed authentication attempts from this address.",
                                    headers={"Retry-After": str(ctx.rate.retry_after)})
        raise InvalidApiKey()

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise InvalidRequest("Content-Length is not a number.")
            if int(declared) > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _call_capturing(self, scope: Scope, receive: Receive, send: Send) -> tuple[int, bytes]:
        status = 500
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        return status, b"".join(parts)

    # ---- idempotency -----------------------------------------------------------------------
    async def _idempotent(self, scope: Scope, receive: Receive, send: Send, ctx: RequestContext,
                          idem_key: str, body: bytes) -> None:
        from cybervault.kit import idempotency

        if not 1 <= len(idem_key) <= 255:
            raise InvalidRequest("Idempotency-Key must be 1 to 255 characters.", param="Idempotency-Key")
        assert ctx.principal is not None
        record_id = idempotency.record_id(ctx.principal, idem_key)
        sealing_key = self.settings.encryption_key.get_secret_value()
        request_hash = hashlib.sha256(scope["path"].encode() + b"\n" + body).hexdigest()
        deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
        db: Database = self.state.db
        while True:
            outcome = await idempotency.begin(db, record_id, ctx.principal.org_id, request_hash,
                                              self.settings.idempotency_ttl_seconds, sealing_key)
            if outcome.kind == "conflict":
                raise IdempotencyConflict()
            if outcome.kind == "replay":
                ctx.extra_headers["Idempotent-Replayed"] = "true"
                await _send_raw(send, outcome.status or 200, outcome.body or b"")
                return
            if outcome.kind == "started":
                break
            if time.monotonic() > deadline:  # still in progress elsewhere
                raise IdempotencyConflict("A request with this Idempotency-Key is still being processed; "
                                          "retry shortly.")
            await asyncio.sleep(0.05)
        try:
            status, response = await self._call_capturing(scope, receive, send)
        except BaseException:
            await idempotency.abandon(db, record_id)
            raise
        if 200 <= status < 300:
            await idempotency.complete(db, record_id, status, response, sealing_key)
        else:  # nothing stored for failures: the client may fix the request and retry with the same key
            await idempotency.abandon(db, record_id)
        await self._audit(scope, ctx, (status, response))

    # ---- audit -----------------------------------------------------------------------------
    async def _audit(self, scope: Scope, ctx: RequestContext, captured: tuple[int, bytes]) -> None:
        from cybervault.audit.service import write_audit_entry

        status, body = captured
        if ctx.principal is None or status >= 500 or status in (401, 404, 405, 429):
            return
        try:
            await write_audit_entry(self.state.db, scope, ctx.principal, status, body, ctx.request_id,
                                    ctx.client_ip)
        except Exception as exc:  # the request already succeeded; an audit write failure is logged loudly
            log.error("audit.write_failed", error=str(exc), request_id=ctx.request_id)

    # ---- helpers ---------------------------------------------------------------------------
    def _client_ip(self, scope: Scope, headers: dict[str, str]) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if self._proxies and "x-forwarded-for" in headers:
            try:
                if any(ipaddress.ip_address(peer) in net for net in self._proxies):
                    return headers["x-forwarded-for"].split(",")[-1].strip()[:64]
            except ValueError:
                pass
        return peer

    def _count(self, reason: str) -> None:
        metrics = getattr(self.state, "metrics", None)
        if metrics is not None and reason == "rate_limited":
            metrics.rate_limited()


def _internal_error_for(exc: Exception) -> CyberVaultError:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    # SQLSTATE 08xxx (connection) and 57P0x (shutdown, "starting up") arrive as plain DBAPIError from asyncpg.
    sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", None) or "")
    if isinstance(exc, OperationalError | InterfaceError | ConnectionError | OSError) or (
        isinstance(exc, DBAPIError) and (exc.connection_invalidated or sqlstate.startswith(("08", "57P")))
    ):
        return ServiceUnavailable("The database is unreachable; retry shortly.", headers={"Retry-After": "2"})
    return InternalError()


def _label_route(scope: Scope) -> None:
    """Requests refused before routing (401, 429, 413…) still count under their route in metrics."""
    if scope.get("route") is not None:
        return
    app = scope.get("app")
    for route in _flat_routes(getattr(getattr(app, "router", None), "routes", ())):
        regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and regex.match(scope["path"]) and (not methods or scope["method"] in methods):
            scope["route"] = route  # anything with the template as `.path`, which is what metrics reads
            return


def _flat_routes(routes: Any) -> list[Any]:
    """Routes with their full path templates; FastAPI may nest included routers."""
    flat: list[Any] = []
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        flat.extend(contexts() if callable(contexts) else [route])
    return flat


def _nested_deeper_than(body: bytes, limit: int) -> bool:
    """True when the JSON text opens more than `limit` arrays/objects at once (brackets inside strings
    do not count). Cheap for normal bodies: nothing is scanned unless there are enough brackets."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that keeps the connection open
        return {"type": "http.disconnect"}

    return receive


async def _send_raw(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
