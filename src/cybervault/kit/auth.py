"""Who is calling: the Principal an API key resolves to, and the scope checks endpoints declare."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request

from cybervault.kit.errors import InsufficientPermissions, InvalidApiKey

# Every scope resource a restricted (rk) key can be granted; `<resource>:write` implies `:read`.
SCOPE_RESOURCES = (
    "scans", "assets", "cves", "incidents", "notification_channels", "triage_rules",
    "compliance", "webhooks", "events", "keys", "audit_logs",
)
ALL_SCOPES = tuple(f"{r}:{a}" for r in SCOPE_RESOURCES for a in ("read", "write"))


@dataclass(frozen=True)
class Principal:
    org_id: str
    livemode: bool
    key_id: str
    kind: str  # "sk" or "rk"
    scopes: frozenset[str] = field(default_factory=frozenset)
    rate_limit_per_minute: int = 600

    def has_scope(self, scope: str) -> bool:
        if self.kind == "sk":
            return True
        resource, _, action = scope.partition(":")
        return scope in self.scopes or (action == "read" and f"{resource}:write" in self.scopes)

    def require(self, scope: str) -> None:
        if not self.has_scope(scope):
            raise InsufficientPermissions(
                f"This API key does not have the '{scope}' permission this request needs.",
                extra={"missing_scope": scope},
            )


def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:  # only reachable if a /v1 route is mounted outside the gateway
        raise InvalidApiKey()
    return principal


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: `principal: Principal = Depends(require("incidents:write"))`."""
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(request: Request) -> Principal:  # async: FastAPI would run a sync one in a thread
        principal = current_principal(request)
        principal.require(scope)
        request.state.scope = scope
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
