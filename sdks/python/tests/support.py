"""What every SDK test needs to reach a live CyberVault server, whichever suite runs it.

The main suite (tests/sdk/) builds a `Target` from its `live_server` fixture and a fresh organization;
run standalone (`pytest sdks/python/tests`), the target comes from CYBERVAULT_BASE_URL,
CYBERVAULT_API_KEY (live secret key) and CYBERVAULT_TEST_API_KEY (test secret key of the same org).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx
import pytest


@dataclass
class Target:
    base_url: str
    live_key: str
    test_key: str
    _paths: set[str] | None = field(default=None, repr=False)

    @property
    def published_paths(self) -> set[str]:
        if self._paths is None:
            spec = httpx.get(f"{self.base_url}/openapi.json", timeout=30).json()
            self._paths = set(spec.get("paths", {}))
        return self._paths

    def require(self, *paths: str) -> None:
        """Skip when the server does not have these routes yet (their resources are built to the design)."""
        missing = [p for p in paths if p not in self.published_paths]
        if missing:
            pytest.skip(f"server does not publish {', '.join(missing)} yet")


def unique(prefix: str = "sdk") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"
