"""Optional domain modules: a domain without a given module (say, no background tasks) is skipped."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package itself is absent
        return False


def import_if_present(name: str) -> ModuleType | None:
    return importlib.import_module(name) if module_exists(name) else None
