"""Webhook verification against the shared signed fixtures (sdks/conformance/webhooks.json)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest

import cybervault_sdk
from cybervault_sdk import webhooks

from .conformance_runner import load

FIXTURES = load("webhooks.json")


def _verify_case(case: dict[str, Any]) -> Any:
    target = case["headers"] if "headers" in case else case["signature"]
    return webhooks.verify(case["payload"].encode("utf-8"), target, case["secret"], FIXTURES["tolerance"],
                           now=case["now"])


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=[c["name"] for c in FIXTURES["cases"]])
def test_every_shared_fixture(case: dict[str, Any]) -> None:
    if case["expect"] == "valid":
        assert _verify_case(case) is True
        if "event_type" in case:
            event = webhooks.construct_event(case["payload"].encode(), case["headers"], case["secret"],
                                             now=case["now"])
            assert isinstance(event, cybervault_sdk.Event)
            assert event.type == case["event_type"] and event.id.startswith("evt_")
            assert event.data_object["object"] in ("scan", "incident")
    else:
        with pytest.raises(cybervault_sdk.WebhookVerificationError) as caught:
            _verify_case(case)
        assert caught.value.code == case["expect"]["error"]


def test_the_published_verify_function_accepts_the_fixture_signature_verbatim() -> None:
    # The seed's verify(), copied as published.
    def verify(payload, signature, secret):  # type: ignore[no-untyped-def]
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    case = FIXTURES["cases"][0]
    assert verify(case["payload"].encode(), case["headers"]["X-CyberVault-Signature"], case["secret"])


def test_standard_webhooks_reference_library_agrees() -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    case = FIXTURES["cases"][0]
    # The reference library checks against the real clock, so sign afresh with this SDK's sign().
    headers = webhooks.sign(case["payload"], case["secret"], msg_id="evt_live_check")
    standardwebhooks.Webhook(case["secret"]).verify(case["payload"], headers)
    assert webhooks.verify(case["payload"].encode(), headers, case["secret"]) is True


def test_headers_are_case_insensitive_and_current_time_is_the_default() -> None:
    case = FIXTURES["cases"][0]
    headers = {k.upper(): v for k, v in webhooks.sign(case["payload"], case["secret"], msg_id="evt_1").items()}
    assert webhooks.verify(case["payload"], headers, case["secret"]) is True


def test_a_stale_delivery_is_refused_even_with_a_valid_signature() -> None:
    case = FIXTURES["cases"][0]
    old = int(time.time()) - 301
    headers = webhooks.sign(case["payload"], case["secret"], msg_id="evt_1", timestamp=old)
    with pytest.raises(cybervault_sdk.WebhookVerificationError) as caught:
        webhooks.verify(case["payload"], headers, case["secret"])
    assert caught.value.code == "timestamp_outside_tolerance"
    assert "tolerance of 300 s" in caught.value.message
    # A wider tolerance is the caller's explicit choice.
    assert webhooks.verify(case["payload"], headers, case["secret"], tolerance=600) is True


def test_bare_signature_with_a_timestamp_checks_its_age() -> None:
    case = FIXTURES["cases"][1]
    with pytest.raises(cybervault_sdk.WebhookVerificationError) as caught:
        webhooks.verify(case["payload"], case["signature"], case["secret"], timestamp=case["now"] - 10,
                        now=case["now"] + 400)
    assert caught.value.code == "timestamp_outside_tolerance"


def test_a_parsed_payload_is_refused_with_advice() -> None:
    case = FIXTURES["cases"][0]
    with pytest.raises(cybervault_sdk.WebhookVerificationError) as caught:
        webhooks.verify(json.loads(case["payload"]), case["headers"], case["secret"], now=case["now"])  # type: ignore[arg-type]
    assert caught.value.code == "invalid_payload" and "raw request body" in caught.value.message


def test_construct_event_refuses_json_that_is_not_an_event() -> None:
    secret = FIXTURES["cases"][0]["secret"]
    payload = b'{"hello": "world"}'
    headers = webhooks.sign(payload, secret, msg_id="evt_x")
    with pytest.raises(cybervault_sdk.WebhookVerificationError) as caught:
        webhooks.construct_event(payload, headers, secret)
    assert caught.value.code == "invalid_payload"
