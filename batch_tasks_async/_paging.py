"""Async pagers for list operations: ``async for`` yields items, ``.pages()`` yields pages."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Generic, TypeVar

import attrs

from ._response import ResponseMetadata

__all__ = ["AsyncPager", "Page"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a list.

    Attributes:
        items: The page's items (may be empty even when more pages follow).
        next_link: The ``odata.nextLink`` of the page: the URL of the next page, or ``None`` on
            the last page. Pass it to [`AsyncPager.pages`][batch_tasks_async.AsyncPager.pages] as
            ``continuation_token`` to
            resume a listing later.
        request_id: The service's ``request-id`` for the request that returned this page.
        metadata: The page's response metadata: status, ``request-id``, the
            ``client-request-id`` sent, ``Last-Modified`` / ``ETag`` when the service sends
            them, and every header (``metadata.headers``). ``None`` only for pages made by
            hand.
    """

    items: Sequence[T]
    next_link: str | None = None
    request_id: str | None = None
    metadata: ResponseMetadata | None = attrs.field(default=None, eq=False)


FetchPage = Callable[[str | None], Awaitable[Page[T]]]


class AsyncPager(Generic[T]):
    """The result of a list call, returned at once (no ``await``).

    ``async for item in pager`` yields every item, fetching pages as needed;
    ``async for page in pager.pages()`` yields [`Page`][batch_tasks_async.Page] objects. Each
    iteration starts
    the listing from its beginning (or from ``continuation_token``). The ``odata.nextLink`` of
    each page is followed exactly as the service gave it, including past empty pages. Leaving
    a loop early leaves nothing open: every page's response is read whole before it is used.
    """

    def __init__(self, fetch: FetchPage[T]) -> None:
        self._fetch = fetch

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    async def pages(self, continuation_token: str | None = None) -> AsyncGenerator[Page[T], None]:
        """Yield the list's pages, starting at ``continuation_token`` (a page's ``next_link``)."""
        link = continuation_token
        while True:
            page = await self._fetch(link)
            yield page
            if not page.next_link:
                return
            link = page.next_link

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    async def to_list(self) -> list[T]:
        """Collect every item into a list (for lists known to be small)."""
        return [item async for item in self]
