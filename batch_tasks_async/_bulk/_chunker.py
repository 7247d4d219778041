"""Packing pre-serialized tasks into add-collection request bodies.

A request body is ``{"value":[`` + the tasks' JSON joined by commas + ``]}``, so a body of ``n``
tasks whose serialized sizes are ``s1 .. sn`` is exactly ``12 + sum(s) + (n - 1)`` bytes. The
`Chunker` packs tasks greedily, in input order, into chunks that respect both the task
count limit and the byte limit, emitting a chunk as soon as it is full (so a slow input never
holds back a complete request).

Two byte limits are kept apart:

* ``hard_max_bytes`` -- the configured limit. A task that does not fit in a body of this size
  even alone can never be sent; `Chunker.add` refuses it.
* ``max_bytes`` -- the packing limit, which starts equal to ``hard_max_bytes`` and is lowered when
  the service answers ``413 RequestBodyTooLarge``. A task larger than it (but within the hard
  limit) is sent alone, so the service decides.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final, Generic, TypeVar

__all__ = ["BODY_PREFIX", "BODY_SUFFIX", "ENVELOPE_BYTES", "Chunker", "body_size", "build_body"]

T = TypeVar("T")

BODY_PREFIX: Final = b'{"value":['
BODY_SUFFIX: Final = b"]}"
#: Bytes of the body that are not task JSON, for a body of one task.
ENVELOPE_BYTES: Final = len(BODY_PREFIX) + len(BODY_SUFFIX)


def build_body(parts: Iterable[bytes]) -> bytes:
    """The add-collection request body holding the given serialized tasks."""
    return BODY_PREFIX + b",".join(parts) + BODY_SUFFIX


def body_size(sizes: Iterable[int]) -> int:
    """The exact size of the body holding tasks of the given serialized sizes (at least one)."""
    total = ENVELOPE_BYTES - 1
    for size in sizes:
        total += size + 1
    return total


class Chunker(Generic[T]):
    """Greedy, order-preserving packer of items of known serialized size into chunks.

    Complete chunks are appended to `ready` (a deque the caller drains); `flush`
    moves the partial chunk there too.

    Args:
        max_tasks: Most items in one chunk.
        max_bytes: Largest request body, in bytes (the hard limit).
    """

    __slots__ = ("_items", "_size", "hard_max_bytes", "max_bytes", "max_tasks", "ready")

    def __init__(self, max_tasks: int, max_bytes: int) -> None:
        if max_tasks < 1:
            raise ValueError("max_tasks must be at least 1")
        if max_bytes <= ENVELOPE_BYTES:
            raise ValueError(f"max_bytes must be more than {ENVELOPE_BYTES}")
        self.max_tasks = max_tasks
        self.max_bytes = max_bytes
        self.hard_max_bytes = max_bytes
        self.ready: deque[list[T]] = deque()
        self._items: list[T] = []
        # Size of the body the pending items would make, minus one: each item adds size + 1
        # (its comma, or for the first item the byte the envelope already counted once).
        self._size = ENVELOPE_BYTES - 1

    def __len__(self) -> int:
        """Number of items in the partial (not yet emitted) chunk."""
        return len(self._items)

    @property
    def pending(self) -> list[T]:
        """The items of the partial chunk (do not modify)."""
        return self._items

    def fits(self, size: int) -> bool:
        """Whether an item of ``size`` bytes fits alone in a body within the hard limit."""
        return size + ENVELOPE_BYTES <= self.hard_max_bytes

    def add(self, item: T, size: int) -> bool:
        """Add an item whose serialized form is ``size`` bytes.

        Returns ``False`` (and keeps nothing) when the item cannot fit in any request.
        """
        if size + ENVELOPE_BYTES > self.hard_max_bytes:
            return False
        new_size = self._size + size + 1
        items = self._items
        if items and new_size > self.max_bytes:
            self.ready.append(items)
            items = self._items = []
            new_size = ENVELOPE_BYTES + size
        items.append(item)
        self._size = new_size
        if len(items) >= self.max_tasks or new_size >= self.max_bytes:
            self.ready.append(items)
            self._items = []
            self._size = ENVELOPE_BYTES - 1
        return True

    def flush(self) -> None:
        """Emit the partial chunk, if any, to `ready`."""
        if self._items:
            self.ready.append(self._items)
            self._items = []
            self._size = ENVELOPE_BYTES - 1

    def take_pending(self) -> list[T]:
        """Remove and return the partial chunk's items without emitting them."""
        items = self._items
        self._items = []
        self._size = ENVELOPE_BYTES - 1
        return items
