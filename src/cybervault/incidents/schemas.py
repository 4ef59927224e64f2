"""Request bodies for incidents, comments, notification channels, triage rules and triage settings."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from cybervault.kit.schemas import RequestModel

Severity = Literal["low", "medium", "high", "critical"]
Priority = Literal["P1", "P2", "P3", "P4"]
Status = Literal["open", "triaged", "investigating", "contained", "resolved", "closed"]
ChannelType = Literal["webhook", "slack", "email", "pagerduty", "teams"]
IncidentEventType = Literal["incident.created", "incident.triaged", "incident.updated", "incident.resolved",
                            "incident.sla_breached", "*"]

SEVERITIES = ("low", "medium", "high", "critical")
PRIORITIES = ("P1", "P2", "P3", "P4")
INCIDENT_EVENTS = ("incident.created", "incident.triaged", "incident.updated", "incident.resolved",
                   "incident.sla_breached")

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")
_ASSET_ID = re.compile(r"^ast_[a-z0-9]{6,40}$")
_CVE = re.compile(r"^CVE-\d{4}-\d{4,7}$")
_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}$")

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


def check_system(value: str) -> str:
    """An asset id, IP address, CIDR range or hostname; returned in a canonical spelling."""
    text = value.strip()
    if _ASSET_ID.match(text):
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"'{value}' is not a valid CIDR range") from None
        # Spelled like asset targets: a one-address range is that address.
        return str(network.network_address) if network.num_addresses == 1 else str(network)
    if _HOSTNAME.match(text) and not text.replace(".", "").isdigit():
        return text.lower().rstrip(".")
    raise ValueError(f"'{value}' is not an asset id, IP address, CIDR range or hostname")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


SystemRef = Annotated[str, AfterValidator(check_system)]


class IncidentCreate(RequestModel):
    title: ShortText
    severity: Severity
    description: LongText
    affected_systems: list[SystemRef] = Field(default_factory=list, max_length=500)
    detected_at: dt.datetime | None = None
    personal_data_breach: bool = False
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None

    @field_validator("affected_systems")
    @classmethod
    def _systems(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("detected_at")
    @classmethod
    def _detected(cls, value: dt.datetime | None) -> dt.datetime | None:
        value = _aware(value)
        if value is not None and value > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            raise ValueError("must not be in the future")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class IncidentUpdate(RequestModel):
    status: Status | None = None
    severity: Severity | None = None
    assignee: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    team: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    root_cause: LongText | None = None
    lessons_learned: LongText | None = None
    authority_notified_at: dt.datetime | None = None

    @field_validator("authority_notified_at")
    @classmethod
    def _notified(cls, value: dt.datetime | None) -> dt.datetime | None:
        return _aware(value)


class CommentCreate(RequestModel):
    # Checked in the service: the error handler cannot name a field called "body" from a validation error.
    body: str | None = None


# ---- notification channels ---------------------------------------------------------------------
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("url",),
    "slack": ("url",),
    "teams": ("url",),
    "pagerduty": ("routing_key", "events_url"),
    "email": ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password", "from_address",
              "recipients"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("url",), "slack": ("url",), "teams": ("url",), "pagerduty": ("routing_key",),
    "email": ("smtp_host", "from_address", "recipients"),
}
ALL_TYPE_FIELDS = {f for fields in CHANNEL_FIELDS.values() for f in fields}
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)]


class ChannelFields(RequestModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    min_severity: Severity | None = None
    min_priority: Priority | None = None
    event_types: list[IncidentEventType] | None = Field(default=None, min_length=1, max_length=10)
    url: Url | None = None
    routing_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    events_url: Url | None = None
    smtp_host: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)] | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] | None = None
    smtp_username: Annotated[str, StringConstraints(max_length=320)] | None = None
    smtp_password: Annotated[str, StringConstraints(max_length=1000)] | None = None
    from_address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    recipients: list[Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)]] | None = Field(
        default=None, min_length=1, max_length=50)

    @field_validator("url", "events_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            if not _HOSTNAME.match(value):
                raise ValueError("must be a hostname or IP address") from None
            return value.lower()

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("must be an email address")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for item in value:
            if not _EMAIL.match(item):
                raise ValueError(f"'{item}' is not an email address")
        return list(dict.fromkeys(value))

    @field_validator("event_types")
    @classmethod
    def _events(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None

    def type_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(include=ALL_TYPE_FIELDS).items() if v is not None}


class ChannelCreate(ChannelFields):
    type: ChannelType


class ChannelUpdate(ChannelFields):
    status: Literal["enabled", "disabled"] | None = None


# ---- triage rules -------------------------------------------------------------------------------
def _cve_id(value: str) -> str:
    upper = value.strip().upper()
    if not _CVE.match(upper):
        raise ValueError("must be a CVE id like CVE-2021-44228")
    return upper


CveId = Annotated[str, AfterValidator(_cve_id)]


class RuleConditions(RequestModel):
    severity: list[Severity] | None = Field(default=None, min_length=1)
    priority: list[Priority] | None = Field(default=None, min_length=1)
    asset_tags: list[Tag] | None = Field(default=None, min_length=1, max_length=50)
    asset_criticality: list[Severity] | None = Field(default=None, min_length=1)
    cve: list[CveId] | None = Field(default=None, min_length=1, max_length=100)
    kev: bool | None = None
    text: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=50)


class RuleActions(RequestModel):
    assign: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    team: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    channels: list[Annotated[str, StringConstraints(pattern=r"^nc_[a-z0-9]{6,40}$")]] | None = Field(
        default=None, min_length=1, max_length=20)
    priority: Priority | None = None

    @model_validator(mode="after")
    def _some_action(self) -> RuleActions:
        if not any(v is not None for v in (self.assign, self.team, self.channels, self.priority)):
            raise ValueError("a rule needs at least one action: assign, team, channels or priority")
        return self


class TriageRuleCreate(RequestModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    position: int | None = Field(default=None, ge=0, le=10_000)
    enabled: bool = True
    conditions: RuleConditions = Field(default_factory=RuleConditions)
    actions: RuleActions
    stop_processing: bool = False


class TriageRuleUpdate(RequestModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    enabled: bool | None = None
    conditions: RuleConditions | None = None
    actions: RuleActions | None = None
    stop_processing: bool | None = None


class SlaTarget(RequestModel):
    acknowledge_minutes: int = Field(ge=1, le=525_600)
    resolve_minutes: int = Field(ge=1, le=525_600)

    @model_validator(mode="after")
    def _order(self) -> SlaTarget:
        if self.resolve_minutes < self.acknowledge_minutes:
            raise ValueError("resolve_minutes must be at least acknowledge_minutes")
        return self


class TriageSettingsUpdate(RequestModel):
    sla: dict[Priority, SlaTarget]
