"""Standalone fixtures: a running server given by environment variables, and the scripted flaky server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .flaky_server import FlakyServer
from .support import Target


@pytest.fixture(scope="session")
def cv() -> Target:
    base_url = os.environ.get("CYBERVAULT_BASE_URL", "http://127.0.0.1:8000")
    live, test = os.environ.get("CYBERVAULT_API_KEY"), os.environ.get("CYBERVAULT_TEST_API_KEY")
    if not live or not test:
        pytest.skip("set CYBERVAULT_API_KEY and CYBERVAULT_TEST_API_KEY (the keys `make run` prints) to run "
                    "the live tests standalone; the main suite runs them against its own server")
    return Target(base_url.rstrip("/"), live, test)


@pytest.fixture(scope="session")
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer().start()
    yield server
    server.stop()
