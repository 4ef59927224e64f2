"""The shared webhook fixtures still match what the server signs (regenerate with generate_webhooks.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

CONFORMANCE = Path(__file__).resolve().parents[2] / "sdks" / "conformance"


def test_webhook_fixtures_match_the_server_signing() -> None:
    spec = importlib.util.spec_from_file_location("generate_webhooks", CONFORMANCE / "generate_webhooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (CONFORMANCE / "webhooks.json").read_text(encoding="utf-8")
    assert module.render(module.build()) == committed, (
        "sdks/conformance/webhooks.json is stale: run .venv/bin/python sdks/conformance/generate_webhooks.py")
