"""Runs the language-neutral scenario (sdks/conformance/scenario.json) through this SDK."""

from __future__ import annotations

from .conformance_runner import ConformanceRunner, load
from .support import Target

# Steps that must run on any server this SDK supports; the rest may be skipped only while the server
# lacks their route (the runner names them).
CORE_STEPS = {
    "create an asset (sandbox)", "walk every page with auto-pagination",
    "an unknown key gets exactly the published 401 body", "a missing object is 404",
    "limit out of range names the parameter", "an unknown body field names the field",
}


def test_conformance_scenario(cv: Target) -> None:
    scenario = load("scenario.json")
    keys = {**scenario["keys"], "live": cv.live_key, "test": cv.test_key}
    runner = ConformanceRunner(cv.base_url, keys, published_paths=cv.published_paths)
    try:
        report = runner.run(scenario)
    finally:
        runner.close()
    assert not report.failures, "\n".join(report.failures)
    assert CORE_STEPS <= set(report.ran), report.skipped
    if report.skipped:
        print("skipped:", *report.skipped, sep="\n  ")  # noqa: T201
