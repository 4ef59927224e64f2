"""Regenerate webhooks.json with the server's own signing code (run from the repo root):

    .venv/bin/python sdks/conformance/generate_webhooks.py

The fixtures are fixed (secrets, ids, timestamps), so the output only changes when the signing does.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cybervault.webhooks.signing import hex_signature, sign_headers

OUT = Path(__file__).with_name("webhooks.json")
T = 1736929931  # 2025-01-15T08:32:11Z, the published example's timestamp
TOLERANCE = 300


def secret(label: str) -> str:
    return "whsec_" + base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()


SECRET = secret("cybervault-conformance-secret-1")
OLD_SECRET = secret("cybervault-conformance-secret-0")
OTHER_SECRET = secret("cybervault-conformance-other")


def event(event_id: str, event_type: str, obj: dict[str, Any]) -> str:
    body = {"id": event_id, "object": "event", "type": event_type, "created": "2025-01-15T08:32:11Z",
            "livemode": True, "data": {"object": obj}}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


SCAN = {"id": "sc_9f8e7d6c5b4a", "object": "scan", "scan_id": "sc_9f8e7d6c5b4a", "status": "completed",
        "threats_found": 2, "timestamp": "2025-01-15T08:32:11Z"}
INCIDENT = {"id": "inc_0193a1b2c3d4e5f6a7b8", "object": "incident", "title": "Struts RCE on façade — ünïcode ✓",
            "severity": "critical"}


def build() -> dict[str, Any]:
    scan_body = event("evt_0193a1b2c3d4e5f6a7b8", "scan.completed", SCAN)
    incident_body = event("evt_0193a1b2c3d4e5f6a7b9", "incident.created", INCIDENT)
    headers = sign_headers([SECRET], "evt_0193a1b2c3d4e5f6a7b8", T, scan_body.encode())
    rotated = sign_headers([SECRET, OLD_SECRET], "evt_0193a1b2c3d4e5f6a7b8", T, scan_body.encode())
    unicode_headers = sign_headers([SECRET], "evt_0193a1b2c3d4e5f6a7b9", T, incident_body.encode())
    no_timestamp = {k: v for k, v in headers.items() if k != "webhook-timestamp"}
    cases = [
        {"name": "valid delivery, both schemes", "secret": SECRET, "payload": scan_body, "headers": headers,
         "now": T + 10, "expect": "valid", "event_type": "scan.completed"},
        {"name": "the published verify(): hex signature alone", "secret": SECRET, "payload": scan_body,
         "signature": hex_signature(SECRET, scan_body.encode()), "now": T + 10, "expect": "valid"},
        {"name": "hex signature alone, wrong secret", "secret": OTHER_SECRET, "payload": scan_body,
         "signature": hex_signature(SECRET, scan_body.encode()), "now": T + 10,
         "expect": {"error": "invalid_signature"}},
        {"name": "timestamp exactly at the tolerance", "secret": SECRET, "payload": scan_body, "headers": headers,
         "now": T + TOLERANCE, "expect": "valid"},
        {"name": "stale timestamp (replay)", "secret": SECRET, "payload": scan_body, "headers": headers,
         "now": T + TOLERANCE + 1, "expect": {"error": "timestamp_outside_tolerance"}},
        {"name": "timestamp too far in the future", "secret": SECRET, "payload": scan_body, "headers": headers,
         "now": T - TOLERANCE - 1, "expect": {"error": "timestamp_outside_tolerance"}},
        {"name": "tampered payload", "secret": SECRET, "payload": scan_body.replace('"threats_found":2',
                                                                                     '"threats_found":0'),
         "headers": headers, "now": T + 10, "expect": {"error": "invalid_signature"}},
        {"name": "wrong secret", "secret": OTHER_SECRET, "payload": scan_body, "headers": headers,
         "now": T + 10, "expect": {"error": "invalid_signature"}},
        {"name": "re-serialized JSON (spaces) no longer matches", "secret": SECRET,
         "payload": json.dumps(json.loads(scan_body)), "headers": headers, "now": T + 10,
         "expect": {"error": "invalid_signature"}},
        {"name": "missing webhook-timestamp", "secret": SECRET, "payload": scan_body, "headers": no_timestamp,
         "now": T + 10, "expect": {"error": "missing_timestamp"}},
        {"name": "no signature headers at all", "secret": SECRET, "payload": scan_body,
         "headers": {"content-type": "application/json"}, "now": T + 10,
         "expect": {"error": "missing_signature"}},
        {"name": "rotation: the new secret verifies", "secret": SECRET, "payload": scan_body, "headers": rotated,
         "now": T + 10, "expect": "valid"},
        {"name": "rotation: the old secret still verifies", "secret": OLD_SECRET, "payload": scan_body,
         "headers": rotated, "now": T + 10, "expect": "valid"},
        {"name": "UTF-8 payload", "secret": SECRET, "payload": incident_body, "headers": unicode_headers,
         "now": T + 10, "expect": "valid", "event_type": "incident.created"},
    ]
    doc = {
        "format": 1,
        "description": "Signed webhook deliveries made with the server's signing code "
                       "(src/cybervault/webhooks/signing.py). `payload` is the exact body as UTF-8 text; "
                       "`headers` are what the server sends; `signature` alone means the published "
                       "verify(payload, signature, secret) form. Verify at unix time `now` with the tolerance below.",
        "tolerance": TOLERANCE,
        "cases": cases,
    }
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.write_text(render(build()))


if __name__ == "__main__":
    main()
