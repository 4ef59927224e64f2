"""CyberVault Python SDK: `Client` (blocking) and `AsyncClient` (asyncio), both over httpx.

    import cybervault_sdk
    client = cybervault_sdk.Client()            # CYBERVAULT_API_KEY, CYBERVAULT_BASE_URL
    scan = client.threats.scan("127.0.0.1", depth="quick")
"""

from . import webhooks
from ._async.resources import AsyncClient
from ._sync.resources import Client
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    CyberVaultError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ScanTimeoutError,
    WebhookVerificationError,
)
from .models import (
    ApiKey,
    Asset,
    Attestation,
    AuditLog,
    ComplianceControl,
    ComplianceFramework,
    CompliancePosture,
    Cve,
    CyberVaultObject,
    DeletedObject,
    Event,
    Finding,
    Incident,
    IncidentComment,
    NotificationChannel,
    PostureSnapshot,
    Scan,
    ScanSchedule,
    TimelineEntry,
    TriageRule,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from .pagination import AsyncPage, AsyncPager, Page

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "webhooks",
    # errors
    "CyberVaultError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "InvalidRequestError",
    "ConflictError",
    "RateLimitError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "ScanTimeoutError",
    "WebhookVerificationError",
    # pagination
    "Page",
    "AsyncPage",
    "AsyncPager",
    # models
    "CyberVaultObject",
    "ApiKey",
    "Asset",
    "Attestation",
    "AuditLog",
    "ComplianceControl",
    "ComplianceFramework",
    "CompliancePosture",
    "Cve",
    "DeletedObject",
    "Event",
    "Finding",
    "Incident",
    "IncidentComment",
    "NotificationChannel",
    "PostureSnapshot",
    "Scan",
    "ScanSchedule",
    "TimelineEntry",
    "TriageRule",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookSecret",
]
