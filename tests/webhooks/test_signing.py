"""Signatures and encryption, checked against independent implementations."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.fernet import InvalidToken
from standardwebhooks import Webhook

from cybervault.webhooks.crypto import decrypt_text, encrypt_text
from cybervault.webhooks.signing import generate_secret, sign_headers
from tests.webhooks.seed_verify import verify


def test_standard_webhooks_library_produces_the_same_signature() -> None:
    secret = generate_secret()
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    body = b'{"id":"evt_1","object":"event"}'
    headers = sign_headers([secret], "evt_1", 1_736_929_931, body)
    expected = Webhook(secret).sign("evt_1", dt.datetime.fromtimestamp(1_736_929_931, dt.UTC).replace(tzinfo=None),
                                    body.decode())
    assert headers["webhook-signature"] == expected
    assert headers["webhook-timestamp"] == "1736929931" and headers["webhook-id"] == "evt_1"
    assert verify(body, headers["X-CyberVault-Signature"], secret)


def test_a_changed_body_or_stale_timestamp_fails_verification() -> None:
    secret = generate_secret()
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = sign_headers([secret], "evt_2", now, b'{"a":1}')
    assert not verify(b'{"a":2}', headers["X-CyberVault-Signature"], secret)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(secret).verify(b'{"a":2}', headers)
    old = sign_headers([secret], "evt_2", now - 3600, b'{"a":1}')
    with pytest.raises(Exception, match="too old"):
        Webhook(secret).verify(b'{"a":1}', old)  # replay protection


def test_rotation_signs_with_both_secrets() -> None:
    new, old = generate_secret(), generate_secret()
    body = b"{}"
    headers = sign_headers([new, old], "evt_3", int(dt.datetime.now(dt.UTC).timestamp()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    assert verify(body, headers["X-CyberVault-Signature"], new)
    assert verify(body, headers["X-CyberVault-Signature-Previous"], old)


def test_encryption_round_trip_and_separation() -> None:
    token = encrypt_text("key-one-000000000000000000000000", "whsec_abc")
    assert "whsec_abc" not in token
    assert decrypt_text("key-one-000000000000000000000000", token) == "whsec_abc"
    with pytest.raises(InvalidToken):
        decrypt_text("key-two-000000000000000000000000", token)
    with pytest.raises(InvalidToken):  # another purpose derives another key
        decrypt_text("key-one-000000000000000000000000", token, purpose="notification_channels")
