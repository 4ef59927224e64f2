"""Operational endpoints outside /v1: health, readiness, metrics, error documentation."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import text

from cybervault.kit.errors import ResourceNotFound
from cybervault.platform import docs_ui
from cybervault.platform.error_docs import render_error_page

log = structlog.get_logger(__name__)
router = APIRouter(tags=["platform"])
router.include_router(docs_ui.router)
ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


@router.get("/healthz", include_in_schema=True, summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database and broker reachable")
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with request.app.state.db.session() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    checks["broker"] = "ok" if await request.app.state.broker.ping() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    metrics = request.app.state.metrics
    try:
        from cybervault.jobs.service import jobs_by_status

        async with request.app.state.db.session() as session:
            counts = await jobs_by_status(session)
        for status in ("queued", "running"):
            metrics.queue_depth.labels(status).set(counts.get(status, 0))
    except Exception as exc:  # metrics must render even when the database is down
        log.warning("metrics.queue_depth_unavailable", error=str(exc))
    return PlainTextResponse(metrics.render().decode(), media_type="text/plain; version=0.0.4")


@router.get("/docs/errors/{code}", summary="Documentation for one error code", response_class=HTMLResponse)
async def error_doc(code: str) -> HTMLResponse:
    page = render_error_page(code)
    if page is None:
        raise ResourceNotFound(f"No documentation for error code '{code}'.", param="code")
    return HTMLResponse(page, headers={"Content-Security-Policy": ERROR_PAGE_CSP})
