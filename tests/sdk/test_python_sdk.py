"""The SDK test modules from sdks/python/tests, collected into the main suite (fixtures in conftest.py).

Sync tests run in a worker thread: the session event loop also runs the `app` fixture's job runner and
reconciler, and blocking it mid-transaction would hold SQLite's write lock against the live server.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

from sdks.python.tests import (
    test_conformance,
    test_live,
    test_live_async,
    test_package,
    test_readme,
    test_retries,
    test_webhooks,
)


def _in_thread(test: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(test, *args, **kwargs)

    return run


def _collect(module: ModuleType) -> dict[str, Any]:
    tests: dict[str, Any] = {}
    for name, value in vars(module).items():
        if type(value).__name__ == "FixtureFunctionDefinition" or hasattr(value, "_pytestfixturefunction"):
            tests[name] = value  # module-level fixtures such as `live` and `sandbox`
        elif name.startswith("test_") and callable(value):
            tests[name] = value if inspect.iscoroutinefunction(value) else _in_thread(value)
    return tests


for _module in (test_conformance, test_live, test_live_async, test_package, test_readme, test_retries,
                test_webhooks):
    globals().update(_collect(_module))
