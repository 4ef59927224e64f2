"""Verify CyberVault webhook deliveries.

Every delivery carries two signatures over the *raw* request body (never a re-serialized JSON object):

- `X-CyberVault-Signature`: hex HMAC-SHA256 of the body keyed with the endpoint secret's UTF-8 bytes
  (the published `verify(payload, signature, secret)` scheme; it has no timestamp);
- Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
  `"{id}.{timestamp}.{body}"`, keyed with the base64-decoded part of the `whsec_…` secret. The signed
  timestamp is what makes a captured delivery useless to replay later.

    event = cybervault_sdk.webhooks.construct_event(request_body, request.headers, secret)

Given the headers, `verify()` uses the Standard Webhooks scheme and refuses a timestamp more than
`tolerance` seconds (default 300) away from now. Given just a hex signature string it checks the
`X-CyberVault-Signature` scheme, and also the age of `timestamp=` when you pass one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from .errors import WebhookVerificationError
from .models import Event

__all__ = ["verify", "construct_event", "sign", "DEFAULT_TOLERANCE", "SIGNATURE_HEADER"]

DEFAULT_TOLERANCE = 300
SIGNATURE_HEADER = "X-CyberVault-Signature"
PREVIOUS_SIGNATURE_HEADER = "X-CyberVault-Signature-Previous"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret

Payload = bytes | bytearray | memoryview | str
HeadersOrSignature = Mapping[str, str] | str


def _fail(code: str, message: str) -> WebhookVerificationError:
    return WebhookVerificationError(message, code=code)


def _body(payload: Payload) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    raise _fail("invalid_payload", "Pass the raw request body (bytes), not a parsed object: re-serialized JSON "
                                   "does not match the signed bytes.")


def _standard_key(secret: str) -> bytes:
    encoded = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("invalid_secret", "The webhook secret is not a whsec_… secret with a base64 key.") from None


def _hex_digest(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _standard_digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def _check_timestamp(value: str | int | float | None, tolerance: int, now: float | None) -> None:
    if value is None or value == "":
        raise _fail("missing_timestamp", "No webhook-timestamp: without it a replayed delivery cannot be told "
                                         "from a fresh one.")
    try:
        timestamp = int(value)
    except (TypeError, ValueError):
        raise _fail("invalid_timestamp", f"webhook-timestamp {value!r} is not unix seconds.") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise _fail("timestamp_outside_tolerance",
                    f"The webhook timestamp is {int(current - timestamp)} s from now, outside the tolerance of "
                    f"{tolerance} s: a stale or replayed delivery.")


def _verify_standard(body: bytes, headers: Mapping[str, str], secret: str, tolerance: int,
                     now: float | None) -> None:
    msg_id = headers.get("webhook-id")
    if not msg_id:
        raise _fail("missing_signature", "webhook-signature is present but webhook-id is missing.")
    timestamp = headers.get("webhook-timestamp")
    _check_timestamp(timestamp, tolerance, now)
    expected = _standard_digest(_standard_key(secret), msg_id, str(timestamp), body)
    # Several space-separated `v1,<sig>` entries during a secret rotation; any one may match.
    for entry in headers.get("webhook-signature", "").split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            return
    raise _fail("invalid_signature", "No webhook-signature entry matches this payload and secret.")


def _verify_hex(body: bytes, signatures: str, secret: str) -> None:
    expected = _hex_digest(secret, body)
    for candidate in signatures.replace(",", " ").split():
        if hmac.compare_digest(candidate.strip().lower().encode(), expected.encode()):
            return
    raise _fail("invalid_signature", f"The {SIGNATURE_HEADER} value does not match this payload and secret.")


def verify(payload: Payload, headers_or_signature: HeadersOrSignature, secret: str,
           tolerance: int = DEFAULT_TOLERANCE, *, timestamp: str | int | None = None,
           now: float | None = None) -> bool:
    """Return True when the delivery is authentic and fresh; otherwise raise `WebhookVerificationError`.

    `headers_or_signature` is the request's headers (any mapping; names are case-insensitive) or the
    `X-CyberVault-Signature` value alone. `now` (unix seconds) is for tests.
    """
    if not secret:
        raise _fail("invalid_secret", "The webhook secret is empty.")
    body = _body(payload)
    if isinstance(headers_or_signature, str):
        if timestamp is not None:
            _check_timestamp(timestamp, tolerance, now)
        _verify_hex(body, headers_or_signature, secret)
        return True
    headers = {str(k).lower(): str(v) for k, v in headers_or_signature.items()}
    if headers.get("webhook-signature"):
        _verify_standard(body, headers, secret, tolerance, now)
        return True
    hex_values = " ".join(v for v in (headers.get(SIGNATURE_HEADER.lower()),
                                      headers.get(PREVIOUS_SIGNATURE_HEADER.lower())) if v)
    if hex_values:
        # Headers without the Standard Webhooks signature: still insist on a fresh timestamp.
        _check_timestamp(headers.get("webhook-timestamp", timestamp), tolerance, now)
        _verify_hex(body, hex_values, secret)
        return True
    raise _fail("missing_signature", f"Neither webhook-signature nor {SIGNATURE_HEADER} is present.")


def construct_event(payload: Payload, headers_or_signature: HeadersOrSignature, secret: str,
                    tolerance: int = DEFAULT_TOLERANCE, *, timestamp: str | int | None = None,
                    now: float | None = None) -> Event:
    """Verify the delivery, then parse it into an `Event` (`event.type`, `event.data_object`)."""
    verify(payload, headers_or_signature, secret, tolerance, timestamp=timestamp, now=now)
    try:
        data: Any = json.loads(_body(payload))
    except ValueError:
        raise _fail("invalid_payload", "The payload is not JSON.") from None
    if not isinstance(data, dict) or data.get("object") != "event":
        raise _fail("invalid_payload", "The payload is not a CyberVault event object.")
    return Event.from_dict(data)


def sign(payload: Payload, secret: str, *, msg_id: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers CyberVault would send for `payload`; for testing your own webhook handler."""
    body = _body(payload)
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    return {
        SIGNATURE_HEADER: _hex_digest(secret, body),
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + _standard_digest(_standard_key(secret), msg_id, ts, body),
    }
