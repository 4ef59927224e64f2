"""What every evaluator shares: the tenant context, thresholds, a registry, and optional-model lookup.

Evaluators read other domains' tables through those domains' models. A domain that is not installed
(or a column it does not have) makes the evaluator report not_assessed instead of failing, so the
posture works on a partial install and improves as domains land.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.compliance.evaluation import Evidence, Status

SAMPLE_IDS = 20  # object ids quoted per piece of evidence; counts are always exact


@dataclass(frozen=True)
class Thresholds:
    scan_freshness_days: int = 30
    critical_sla_days: int = 15
    high_sla_days: int = 30
    key_max_age_days: int = 90
    alert_delivery_days: int = 30
    audit_recent_days: int = 7
    incident_window_days: int = 90
    review_due_days: int = 14
    breach_window_days: int = 365
    coverage_partial_ratio: float = 0.8  # at least this share compliant -> partial instead of fail


@dataclass(frozen=True)
class Outcome:
    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()


class Unavailable(Exception):  # noqa: N818 - reads as "evaluator unavailable"
    """Raised by an evaluator when the data it needs does not exist in this install."""


@dataclass
class EvaluationContext:
    session: AsyncSession
    org_id: str
    livemode: bool
    now: dt.datetime
    thresholds: Thresholds = field(default_factory=Thresholds)
    cache: dict[str, Any] = field(default_factory=dict)

    def days_ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def tenant(self, model: Any) -> list[ColumnElement[bool]]:
        return [model.org_id == self.org_id, model.livemode == self.livemode]

    def select_tenant(self, model: Any, *entities: Any) -> Select[Any]:
        return select(*entities).select_from(model).where(*self.tenant(model))

    async def sample_ids(self, model: Any, *conditions: Any, order_by: Any = None) -> tuple[str, ...]:
        stmt = select(model.id).where(*self.tenant(model), *conditions)
        stmt = stmt.order_by(order_by if order_by is not None else model.id).limit(SAMPLE_IDS)
        return tuple((await self.session.scalars(stmt)).all())


async def sample_ids_many(ctx: EvaluationContext, model: Any, base: Sequence[Any],
                          wanted: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Up to SAMPLE_IDS ids for each named condition, in one round trip (UNION ALL of limited selects).

    Unordered on purpose: each LIMIT then stops at its first matches instead of sorting every row.
    """
    if not wanted:
        return {}
    parts = []
    for name, condition in wanted.items():
        sub = select(model.id.label("id")).where(*ctx.tenant(model), *base, condition).limit(SAMPLE_IDS).subquery()
        # Names are our own identifiers, never user input; a literal avoids an untyped bind parameter.
        parts.append(select(literal_column(f"'{name}'").label("k"), sub.c.id))
    out: dict[str, list[str]] = {name: [] for name in wanted}
    for key, object_id in (await ctx.session.execute(union_all(*parts))).all():
        out[key].append(object_id)
    return {name: tuple(ids) for name, ids in out.items()}


Evaluator = Callable[[EvaluationContext], Awaitable[Outcome]]
EVALUATORS: dict[str, Evaluator] = {}


def evaluator(name: str) -> Callable[[Evaluator], Evaluator]:
    def register(func: Evaluator) -> Evaluator:
        EVALUATORS[name] = func
        return func

    return register


def optional_model(module: str, *class_names: str) -> Any | None:
    """The first of `class_names` defined in `module`, or None if the domain is not installed."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
        mod = importlib.import_module(module)
    except ImportError:
        return None
    for name in class_names:
        cls = getattr(mod, name, None)
        if cls is not None and hasattr(cls, "__table__"):
            return cls
    return None


def require_model(module: str, *class_names: str, what: str) -> Any:
    model = optional_model(module, *class_names)
    if model is None:
        raise Unavailable(f"{what} are not available in this installation yet.")
    return model


def column(model: Any, *names: str, required: bool = True) -> Any:
    """The first of `names` that `model` maps as a column (schemas name things slightly differently)."""
    for name in names:
        if name in model.__table__.columns:
            return getattr(model, name)
    if required:
        raise Unavailable(f"{model.__name__} has none of the fields {', '.join(names)}.")
    return None


def ratio_status(bad: int, total: int, partial_ratio: float) -> Status:
    if bad == 0:
        return Status.PASS
    good = (total - bad) / total if total else 0.0
    return Status.PARTIAL if good >= partial_ratio else Status.FAIL


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural_noun or noun + 's')}"


def first(values: Sequence[Any]) -> Any | None:
    return values[0] if values else None
