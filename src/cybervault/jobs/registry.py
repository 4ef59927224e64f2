"""Job kinds and their handlers. Domains register with @job_handler in their tasks.py."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cybervault.kit.modules import module_exists

if TYPE_CHECKING:
    from cybervault.jobs.runner import JobContext

Handler = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class JobSpec:
    kind: str
    handler: Handler
    max_attempts: int | None = None
    lease_seconds: int | None = None


@dataclass(frozen=True)
class PeriodicSpec:
    kind: str
    every_seconds: int
    payload: dict[str, Any] = field(default_factory=dict)


HANDLERS: dict[str, JobSpec] = {}
PERIODIC: dict[str, PeriodicSpec] = {}

# Modules whose import registers handlers. Each domain with background work has a tasks.py.
TASK_MODULES = (
    "cybervault.jobs.builtin",
    "cybervault.events.tasks",
    "cybervault.scans.tasks",
    "cybervault.vulns.tasks",
    "cybervault.incidents.tasks",
    "cybervault.webhooks.tasks",
    "cybervault.compliance.tasks",
)


def job_handler(kind: str, *, max_attempts: int | None = None,
                lease_seconds: int | None = None) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[kind] = JobSpec(kind, func, max_attempts, lease_seconds)
        return func

    return register


def periodic(kind: str, every_seconds: int, payload: dict[str, Any] | None = None) -> None:
    """Run job `kind` every `every_seconds` (enqueued once per time slot across all workers)."""
    PERIODIC[kind] = PeriodicSpec(kind, every_seconds, payload or {})


def load_task_modules() -> None:
    for name in TASK_MODULES:
        if module_exists(name):
            importlib.import_module(name)
