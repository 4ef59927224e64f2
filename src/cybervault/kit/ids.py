"""Prefixed object ids that sort by creation time, so cursor pagination can order by id alone."""

from __future__ import annotations

import secrets
import threading
import time

PREFIXES = {
    "org": "org", "key": "key", "scan": "sc", "finding": "fnd", "asset": "ast", "incident": "inc",
    "channel": "nc", "webhook_endpoint": "we", "event": "evt", "delivery": "wd", "attestation": "att",
    "job": "job", "audit": "al", "schedule": "ssch", "comment": "cmt", "triage_rule": "tr",
    "timeline": "tle", "attempt": "wda", "snapshot": "psn",
}

_lock = threading.Lock()
_last = 0


def _monotonic_micros() -> int:
    global _last
    with _lock:
        now = time.time_ns() // 1000
        _last = now if now > _last else _last + 1
        return _last


def new_id(prefix: str) -> str:
    """`<prefix>_` + 14 hex digits of microseconds since the epoch + 10 random hex digits."""
    return f"{prefix}_{_monotonic_micros():014x}{secrets.token_hex(5)}"
