"""Shared plumbing of the sync resources: typed calls and the CRUD shape.

GENERATED from `_async/_resource.py` by `scripts/unasync.py`: edit that file, not this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from .._base import RequestSpec, clean_body, clean_params
from ..models import CyberVaultObject, DeletedObject
from ..pagination import Page
from .client import SyncAPIClient

T = TypeVar("T", bound=CyberVaultObject)
M = TypeVar("M", bound=CyberVaultObject)


def _path_id(value: str) -> str:
    """Object ids go into URLs; refuse anything that could change the path."""
    if not value or any(c in value for c in "/?#%\\ ") or value in (".", ".."):
        raise ValueError(f"not an object id: {value!r}")
    return value


class Resource:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def _call(self, method: str, path: str, model: type[T], *, params: Mapping[str, Any] | None = None,
                    body: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
                    idempotent: bool = True, timeout: float | None = None) -> T:
        payload = self._client.request(RequestSpec(
            method, path, params=clean_params(params), body=clean_body(body) if body is not None else None,
            idempotency_key=idempotency_key, idempotent=idempotent, timeout=timeout))
        return model.from_dict(payload)


class _Crud(Resource, Generic[M]):
    """The create / retrieve / list / update / delete calls on `/v1/<collection>`, typed by the model."""

    path: str = ""
    model: type[M]

    def _create(self, body: Mapping[str, Any], idempotency_key: str | None) -> M:
        return self._call("POST", self.path, self.model, body=body, idempotency_key=idempotency_key)

    def _retrieve(self, object_id: str) -> M:
        return self._call("GET", f"{self.path}/{_path_id(object_id)}", self.model)

    def _list(self, params: Mapping[str, Any]) -> Page[M]:
        return self._client.pager(self.path, params, self.model)

    def _update(self, object_id: str, body: Mapping[str, Any]) -> M:
        return self._call("PATCH", f"{self.path}/{_path_id(object_id)}", self.model, body=body)

    def _delete(self, object_id: str) -> DeletedObject:
        return self._call("DELETE", f"{self.path}/{_path_id(object_id)}", DeletedObject)
