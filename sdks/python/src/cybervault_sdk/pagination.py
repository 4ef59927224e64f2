"""Auto-pagination over the API's cursor lists (`{"object":"list","has_more","data"}`, newest first).

Sync: `list()` fetches the first page and returns a `Page`; iterating it walks every page.
Async: `list()` returns an `AsyncPager`; `async for` walks every page, `await` gives the first `AsyncPage`.
Walking follows `starting_after` (older objects) or, when the first request used `ending_before`,
`ending_before` (newer objects) — the same direction the caller started in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    TypeVar,
)

from .models import CyberVaultObject

if TYPE_CHECKING:
    from ._async.client import AsyncAPIClient
    from ._sync.client import SyncAPIClient

__all__ = ["Page", "AsyncPage", "AsyncPager"]

T = TypeVar("T", bound=CyberVaultObject)


class _PageBase(Generic[T]):
    def __init__(self, payload: Mapping[str, Any], model: type[T], path: str, params: dict[str, Any]) -> None:
        self.object: str = str(payload.get("object", "list"))
        self.url: str = str(payload.get("url", path))
        self.has_more: bool = bool(payload.get("has_more", False))
        self.data: list[T] = [model.from_dict(item) for item in payload.get("data") or []]
        self._model = model
        self._path = path
        self._params = params

    def _next_params(self) -> dict[str, Any] | None:
        if not self.has_more or not self.data:
            return None
        params = dict(self._params)
        if params.get("ending_before") is not None:
            params["ending_before"] = self.data[0].id
        else:
            params.pop("ending_before", None)
            params["starting_after"] = self.data[-1].id
        return params

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} items={len(self.data)} has_more={self.has_more}>"


class Page(_PageBase[T]):
    """One page of a list; iterate it to walk every following page as well."""

    def __init__(self, client: SyncAPIClient, payload: Mapping[str, Any], model: type[T], path: str,
                 params: dict[str, Any]) -> None:
        super().__init__(payload, model, path, params)
        self._client = client

    def next_page(self) -> Page[T] | None:
        params = self._next_params()
        if params is None:
            return None
        return self._client.get_page(self._path, params, self._model)

    def iter_pages(self) -> Iterator[Page[T]]:
        page: Page[T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def auto_paging_iter(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data

    def __iter__(self) -> Iterator[T]:
        return self.auto_paging_iter()

    def to_list(self, max_items: int | None = None) -> list[T]:
        items: list[T] = []
        for item in self.auto_paging_iter():
            if max_items is not None and len(items) >= max_items:
                break
            items.append(item)
        return items


class AsyncPage(_PageBase[T]):
    """One page of a list; `async for` over it walks every following page as well."""

    def __init__(self, client: AsyncAPIClient, payload: Mapping[str, Any], model: type[T], path: str,
                 params: dict[str, Any]) -> None:
        super().__init__(payload, model, path, params)
        self._client = client

    async def next_page(self) -> AsyncPage[T] | None:
        params = self._next_params()
        if params is None:
            return None
        return await self._client.get_page(self._path, params, self._model)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self.auto_paging_iter()

    async def to_list(self, max_items: int | None = None) -> list[T]:
        items: list[T] = []
        async for item in self.auto_paging_iter():
            if max_items is not None and len(items) >= max_items:
                break
            items.append(item)
        return items


class AsyncPager(Generic[T]):
    """What async `list()` returns: `await` it for the first page, or `async for` it for every item."""

    def __init__(self, client: AsyncAPIClient, path: str, params: dict[str, Any], model: type[T]) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._model = model

    async def first_page(self) -> AsyncPage[T]:
        return await self._client.get_page(self._path, self._params, self._model)

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self.first_page().__await__()

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        page = await self.first_page()
        async for item in page.auto_paging_iter():
            yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self.auto_paging_iter()

    async def to_list(self, max_items: int | None = None) -> list[T]:
        return await (await self.first_page()).to_list(max_items)

