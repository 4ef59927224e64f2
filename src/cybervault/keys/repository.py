"""API keys as seen through the API: one org and one mode at a time."""

from __future__ import annotations

from cybervault.keys.models import ApiKey
from cybervault.kit.repository import TenantRepository


class ApiKeyRepository(TenantRepository[ApiKey]):
    model = ApiKey
    noun = "api_key"
