"""Reading the caller's input: a sync or async iterable, a little at a time.

The reader never reads more than the driver asks for and never closes the iterator (a
generator the caller made stays usable: after an early stop the caller can resume it). It
takes its iterator with ``iter()``/``aiter()``, so an iterator the caller passes is read in
place.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

from .. import models
from ..errors import ClientValidationError
from ._ledger import Ledger

__all__ = ["Reader"]

TaskInput = models.TaskAddParameter | Mapping[str, Any]


class Reader:
    """The input of one bulk add. ``done`` once it is used up (or failed)."""

    __slots__ = ("_ait", "_it", "done", "reading", "reads", "size_hint")

    def __init__(self, tasks: Iterable[TaskInput] | AsyncIterable[TaskInput]) -> None:
        if isinstance(tasks, str | bytes | Mapping | models.TaskAddParameter):
            raise ClientValidationError(
                "tasks must be an iterable or async iterable of tasks, "
                f"not a single {type(tasks).__name__}"
            )
        self._ait: AsyncIterator[object] | None = None
        self._it: Iterator[object] | None = None
        if isinstance(tasks, AsyncIterable):
            self._ait = aiter(tasks)
        elif isinstance(tasks, Iterable):
            self._it = iter(tasks)
        else:
            raise ClientValidationError(
                f"tasks must be an iterable or async iterable, got {type(tasks).__name__}"
            )
        # A list's length is known: the id index is sized once instead of growing.
        self.size_hint = len(tasks) if type(tasks) is list or type(tasks) is tuple else 0
        self.done = False
        self.reading = False  # an async read is awaiting the caller's iterator
        self.reads = 0

    @property
    def is_async(self) -> bool:
        """Whether the input is an async iterable."""
        return self._ait is not None

    def read_sync(self, ledger: Ledger, limit: int) -> None:
        """Read up to ``limit`` items of a sync input, stopping early once a request is packed."""
        it = self._it
        assert it is not None
        ingest = ledger.ingest
        chunker_ready = ledger.chunker.ready
        count = 0
        for raw in it:
            ingest(raw)
            count += 1
            if chunker_ready or count >= limit:
                self.reads += count
                return
        self.reads += count
        self.done = True

    async def read_async(self, ledger: Ledger) -> None:
        """Read one item of an async input (the caller's iterator may take its time)."""
        ait = self._ait
        assert ait is not None
        self.reading = True
        try:
            raw = await ait.__anext__()
        except StopAsyncIteration:
            self.done = True
            return
        finally:
            self.reading = False
        self.reads += 1
        ledger.ingest(raw)
