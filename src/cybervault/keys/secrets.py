"""API key format: cv_{live|test}_{sk|rk}_ + 26 random base62 characters + a 6-character checksum.

The checksum lets secret scanners (and us, cheaply) tell a real key from a typo or a truncated paste.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 26
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(r"^cv_(live|test)_(sk|rk)_([0-9A-Za-z]{30,64})$")


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate_key(livemode: bool, kind: str) -> str:
    prefix = f"cv_{'live' if livemode else 'test'}_{kind}_"
    body = "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return prefix + body + checksum(prefix + body)


def is_well_formed(key: str) -> bool:
    match = KEY_PATTERN.match(key)
    if not match:
        return False
    head, tail = key[:-CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(checksum(head), tail)


def hash_key(key: str, server_secret: str) -> str:
    return hmac.new(server_secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def redact(key: str) -> str:
    match = KEY_PATTERN.match(key)
    prefix = key[: key.index("_", 8) + 1] if match else "cv_"
    return f"{prefix}…{key[-4:]}"


def parse_mode_and_kind(key: str) -> tuple[bool, str]:
    match = KEY_PATTERN.match(key)
    if not match:
        raise ValueError("malformed key")
    return match.group(1) == "live", match.group(2)
