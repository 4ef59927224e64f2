"""Encryption at rest for secrets the server must read back (webhook secrets, channel credentials).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from settings.encryption_key by HKDF-SHA256.
`purpose` separates keys per use, so a ciphertext from one table cannot be replayed into another.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

__all__ = ["InvalidToken", "decrypt_text", "encrypt_text", "fernet_for"]

_SALT = b"cybervault.at-rest.v1"


def _raw(key: str | SecretStr) -> str:
    return key.get_secret_value() if isinstance(key, SecretStr) else key


@lru_cache(maxsize=32)
def _fernet(raw_key: str, purpose: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode()).derive(raw_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def fernet_for(encryption_key: str | SecretStr, purpose: str = "webhooks") -> Fernet:
    """The Fernet for one purpose, e.g. fernet_for(settings.encryption_key, "notification_channels")."""
    return _fernet(_raw(encryption_key), purpose)


def encrypt_text(encryption_key: str | SecretStr, plaintext: str, purpose: str = "webhooks") -> str:
    return fernet_for(encryption_key, purpose).encrypt(plaintext.encode()).decode()


def decrypt_text(encryption_key: str | SecretStr, token: str, purpose: str = "webhooks") -> str:
    """Raises cryptography.fernet.InvalidToken if the key changed or the value was tampered with."""
    return fernet_for(encryption_key, purpose).decrypt(token.encode()).decode()
