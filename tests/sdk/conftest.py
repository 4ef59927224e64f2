"""The Python SDK's own tests, run by the main suite against `live_server` (SQLite and PostgreSQL).

Each test gets a fresh organization; its keys are made directly in the database, like every other
domain's tests. Nothing is installed here: the venv has `pip install -e sdks/python`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

# `make` installs the SDK into the venv (pip install -e sdks/python); a venv made before that still
# finds the package from the source tree rather than failing the whole collection.
if importlib.util.find_spec("cybervault_sdk") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdks" / "python" / "src"))
from sdks.python.tests.flaky_server import FlakyServer
from sdks.python.tests.support import Target

from tests.helpers import LiveServer, make_org


@pytest.fixture
async def cv(app: Any, live_server: LiveServer) -> AsyncIterator[Target]:
    keys = await make_org(app, "SDK org")
    yield Target(live_server.url, keys.live_key, keys.test_key)
    await keys.live.aclose()
    await keys.test.aclose()


@pytest.fixture(scope="session")
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer().start()
    yield server
    server.stop()
