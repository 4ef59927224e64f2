"""Generic webhook channel: the event JSON, signed exactly like webhook endpoints (both schemes)."""

from __future__ import annotations

import time
from typing import Any

from cybervault.config import Settings
from cybervault.incidents.channels.base import SendResult, dumps, post_json
from cybervault.webhooks.signing import sign_headers


def signed_request(event: dict[str, Any], secret: str, msg_id: str,
                   timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = dumps(event)
    return body, sign_headers([secret], msg_id, int(timestamp or time.time()), body)


async def send_webhook(url: str, secret: str, event: dict[str, Any], msg_id: str, settings: Settings) -> SendResult:
    body, headers = signed_request(event, secret, msg_id)
    return await post_json(url, body, headers, settings)
