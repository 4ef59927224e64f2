"""create_app(): settings, storage, middleware, routers and background work for one API process."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cybervault.config import Settings, get_settings
from cybervault.jobs.broker import Broker, InProcessBroker, RedisStreamBroker, set_broker
from cybervault.jobs.runner import JobRunner, Reconciler, bounded, cancel_and_wait
from cybervault.kit.db import Database
from cybervault.kit.errors import (
    CyberVaultError,
    InvalidRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
)
from cybervault.kit.gateway import ApiGateway
from cybervault.kit.http import error_response
from cybervault.kit.logging import configure_logging
from cybervault.kit.metrics import Metrics, MetricsMiddleware
from cybervault.kit.modules import module_exists
from cybervault.kit.ratelimit import RateLimiter
from cybervault.kit.schemas import ErrorResponse

# Each domain exposes `router` in endpoints.py; included in this order under its own paths.
ROUTER_MODULES = (
    "cybervault.platform.endpoints",
    "cybervault.keys.endpoints",
    "cybervault.audit.endpoints",
    "cybervault.assets.endpoints",
    "cybervault.scans.endpoints",
    "cybervault.vulns.endpoints",
    "cybervault.incidents.endpoints",
    "cybervault.compliance.endpoints",
    "cybervault.webhooks.endpoints",
    "cybervault.events.endpoints",
)

STANDARD_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": ErrorResponse}
    for status, description in {
        400: "Invalid request (`invalid_request`, with `param`)",
        401: "Missing, expired, revoked or unknown API key (`invalid_api_key`)",
        403: "The key lacks a scope (`insufficient_permissions`)",
        404: "No such object (`resource_not_found`)",
        409: "Idempotency conflict or state conflict",
        413: "Body over 1 MiB (`payload_too_large`)",
        415: "Body is not JSON (`unsupported_media_type`)",
        429: "Rate limit exceeded (`rate_limit_exceeded`), see Retry-After",
        500: "Internal error (`internal_error`)",
        503: "A dependency is unavailable (`service_unavailable`)",
    }.items()
}


def operation_id(route: APIRoute) -> str:
    module = route.endpoint.__module__.split(".")
    domain = module[-2] if len(module) >= 2 else module[0]
    return f"{domain}_{route.name}"


def _param_from_loc(loc: tuple[Any, ...]) -> str | None:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    if not parts:
        return None
    text = str(parts[0])
    for part in parts[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validation_error(exc: RequestValidationError) -> CyberVaultError:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid", "type": ""}
    loc = tuple(first.get("loc", ()))
    param = _param_from_loc(loc)
    kind = first.get("type", "")
    if kind == "json_invalid":
        return InvalidRequest("The request body is not valid JSON.")
    if kind == "extra_forbidden":
        return InvalidRequest(f"Unknown field '{param}'. Check the field name against the API reference.",
                              param=param)
    if kind == "missing" and param is None:
        return InvalidRequest("A JSON request body is required.")
    if kind == "missing":
        return InvalidRequest(f"Missing required parameter '{param}'.", param=param)
    message = str(first.get("msg", "Invalid value.")).removeprefix("Value error, ")
    return InvalidRequest(f"Invalid '{param}': {message}" if param else message, param=param)


async def _background(app: FastAPI, settings: Settings, db: Database, broker: Broker) -> list[asyncio.Task[Any]]:
    from cybervault.vulns.match_cache import start_warming

    tasks: list[asyncio.Task[Any]] = []
    warming = start_warming(db.engine, settings.vuln_match_index)
    if warming is not None:
        tasks.append(warming)
    if settings.jobs_in_process:
        runner = JobRunner(db, broker, settings)
        app.state.runner = runner
        tasks.append(asyncio.create_task(runner.run(), name="job-runner"))
        tasks.append(asyncio.create_task(Reconciler(db, broker, settings).run(), name="reconciler"))
    return tasks


def create_app(settings: Settings | None = None, *, migrate: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, pool_size=settings.database_pool_size,
                      pgbouncer=settings.database_pgbouncer)
        if migrate if migrate is not None else settings.is_sqlite:
            from cybervault.kit.migrate import upgrade_database

            await upgrade_database(db)
        broker: Broker = (RedisStreamBroker(settings.redis_url, settings.redis_prefix)
                          if settings.redis_url else InProcessBroker())
        set_broker(broker, db.engine.sync_engine)
        app.state.db = db
        app.state.broker = broker
        app.state.rate_limiter = RateLimiter(settings.redis_url, prefix=settings.redis_prefix,
                                             fail_open=settings.rate_limit_fail_open)
        tasks = await _background(app, settings, db, broker)
        try:
            yield
        finally:
            await cancel_and_wait(tasks)
            runner = getattr(app.state, "runner", None)
            if runner is not None:
                await runner.shutdown()
            await bounded(broker.close())
            set_broker(None, db.engine.sync_engine)
            await db.dispose()

    app = FastAPI(
        title="CyberVault API",
        version="1.0.0",
        description="Security operations API: threat scanning, CVE intelligence, incidents, compliance "
                    "posture and signed webhooks.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        generate_unique_id_function=operation_id,
        redirect_slashes=False,  # a trailing-slash 307 echoes the Host header and answers undocumented URLs
    )
    app.state.settings = settings
    app.state.metrics = metrics

    for name in ROUTER_MODULES:
        if module_exists(name):
            module = importlib.import_module(name)
            app.include_router(module.router, responses=STANDARD_ERROR_RESPONSES)

    _install_error_handlers(app, settings)
    from cybervault.platform.openapi import install_openapi

    install_openapi(app)  # bearer security scheme and a fixed server in the spec
    app.add_middleware(ApiGateway, settings=settings, state=app.state)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])
    return app


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    def respond(request: Request, error: CyberVaultError) -> Response:
        request_id = getattr(request.state, "request_id", None) or "req_unknown"
        return error_response(error, request_id=request_id, base_url=settings.public_base_url)

    @app.exception_handler(CyberVaultError)
    async def _domain_error(request: Request, exc: CyberVaultError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return respond(request, RouteNotFound(f"Unrecognized request URL ({request.method}: "
                                                  f"{request.url.path})."))
        if exc.status_code == 405:
            return respond(request, MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}."))
        if exc.status_code == 413:
            return respond(request, PayloadTooLarge())
        return respond(request, InvalidRequest(str(exc.detail)))
