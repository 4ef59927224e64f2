"""Structured logs (JSON lines by default). Secrets never reach a log line: keys are logged by id only."""

from __future__ import annotations

import logging
import sys

import structlog

_SECRET_FIELDS = {"authorization", "api_key", "secret", "password", "token", "key"}


def _drop_secrets(_logger: object, _name: str, event: dict[str, object]) -> dict[str, object]:
    for name in list(event):
        if name.lower() in _SECRET_FIELDS:
            event[name] = "[redacted]"
    return event


def configure_logging(level: str = "info", json_output: bool = True) -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(message)s")
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
