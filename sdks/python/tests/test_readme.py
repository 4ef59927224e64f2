"""The README's quick start runs as written against a live server (with the test key, as it says)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .support import Target

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_quick_start_and_async_example_run(cv: Target, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cv.require("/v1/threats/scan", "/v1/incidents", "/v1/compliance/posture")
    monkeypatch.setenv("CYBERVAULT_API_KEY", cv.test_key)
    monkeypatch.setenv("CYBERVAULT_BASE_URL", cv.base_url)
    quick_start, async_example = _blocks()[:2]
    namespace: dict[str, Any] = {}
    exec(compile(quick_start, "README quick start", "exec"), namespace)  # noqa: S102 - our own README
    exec(compile(async_example, "README async example", "exec"), {})  # noqa: S102
    out = capsys.readouterr().out
    assert "completed 2" in out and "CVE-2017-5638" in out and "Apache Struts 2.5.10 detected" in out
    incident_id = namespace["incident"].id
    assert out.count(incident_id) == 2  # printed by each example
