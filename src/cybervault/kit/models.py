"""Import every domain's models so Base.metadata knows all tables (Alembic, tests)."""

from __future__ import annotations

import importlib

from cybervault.kit.modules import module_exists

MODEL_MODULES = (
    "cybervault.orgs.models", "cybervault.keys.models", "cybervault.jobs.models", "cybervault.events.models",
    "cybervault.audit.models", "cybervault.assets.models", "cybervault.scans.models", "cybervault.vulns.models",
    "cybervault.incidents.models", "cybervault.webhooks.models", "cybervault.compliance.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        if module_exists(name):
            importlib.import_module(name)
