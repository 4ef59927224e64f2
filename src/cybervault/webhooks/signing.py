"""Signatures on outgoing deliveries, two schemes at once.

- `X-CyberVault-Signature`: hex HMAC-SHA256 of the raw body keyed with the secret string's UTF-8 bytes,
  which is exactly what the published `verify(payload, signature, secret)` checks.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`): base64 HMAC-SHA256 of
  `"{id}.{timestamp}.{body}"` keyed with the base64-decoded part of `whsec_…`; the timestamp gives
  receivers replay protection and several `v1,` entries cover a secret rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SIGNATURE_HEADER = "X-CyberVault-Signature"
PREVIOUS_SIGNATURE_HEADER = "X-CyberVault-Signature-Previous"


def generate_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (Standard Webhooks allows 24–64 bytes)."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def hex_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers for one delivery. `secrets` is newest first; during a rotation pass both.

    X-CyberVault-Signature carries one value (the published verify() compares one digest), made with
    the newest secret; the previous secret's digest goes in X-CyberVault-Signature-Previous so a
    receiver that has not switched yet keeps working during the overlap.
    """
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    headers = {
        SIGNATURE_HEADER: hex_signature(secrets[0], body),
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(standard_signature(s, msg_id, int(timestamp), body) for s in secrets),
    }
    if len(secrets) > 1:
        headers[PREVIOUS_SIGNATURE_HEADER] = " ".join(hex_signature(s, body) for s in secrets[1:])
    return headers
