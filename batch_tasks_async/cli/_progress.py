"""Progress of a bulk submission: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .._bulk._progress import BulkProgress

__all__ = ["ProgressView", "format_progress"]


def _rate(progress: BulkProgress) -> float:
    return progress.succeeded / progress.elapsed if progress.elapsed > 0 else 0.0


def format_progress(progress: BulkProgress) -> str:
    """One line describing a progress snapshot."""
    parts = [
        f"read {progress.tasks_read}",
        f"added {progress.added}",
    ]
    if progress.already_existed:
        parts.append(f"existed {progress.already_existed}")
    parts += [
        f"failed {progress.failed}",
        f"retried {progress.retried}",
        f"in flight {progress.in_flight}",
        f"requests {progress.requests_sent}",
        f"throttled {progress.throttled}",
    ]
    if progress.unconfirmed:
        parts.append(f"unconfirmed {progress.unconfirmed}")
    parts.append(f"{_rate(progress):,.0f} tasks/s")
    return ", ".join(parts)


class LiveBar:
    """A rich progress bar shown only on a terminal, started and stopped as a context manager.

    Subclasses set ``_progress`` (``None`` off a terminal), ``_task`` and ``_description``, and
    may override ``_add_task`` to give the bar's task its total and fields.
    """

    _progress: Progress | None
    _task: TaskID | None
    _description: str

    def _add_task(self, progress: Progress) -> TaskID:
        return progress.add_task(self._description, total=None, detail="")

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
            self._task = self._add_task(self._progress)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


class ProgressView(LiveBar):
    """An ``on_progress`` callback that shows the progress of a bulk add.

    On a terminal it drives a rich progress bar with a rate and an ETA; otherwise it prints
    [`format_progress`][batch_tasks_async.cli._progress.format_progress] lines at most every
    ``interval`` seconds, and once at the end. The bar measures, in this order of preference:
    ``total`` tasks; the input's bytes (``total_bytes``, with ``bytes_read`` telling how far
    the reader got, so the input is never read twice to count it); or nothing (the count
    and rate alone).

    Use it as a context manager around the run and pass the object itself as
    ``on_progress``. Print messages with
    [`print`][batch_tasks_async.cli._progress.ProgressView.print]: on a terminal they appear
    above the bar, which is redrawn below them.
    """

    def __init__(
        self,
        console: Console,
        *,
        total: int | None = None,
        total_bytes: int | None = None,
        bytes_read: Callable[[], int] | None = None,
        description: str = "adding tasks",
        interval: float = 5.0,
    ) -> None:
        self._console = console
        self._total = total
        self._total_bytes = total_bytes if total is None and bytes_read is not None else None
        self._bytes_read = bytes_read
        self._description = description
        self._interval = interval
        self._last_line = -float("inf")
        self._last: BulkProgress | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            measured = self._total is not None or self._total_bytes is not None
            columns = [
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TaskProgressColumn() if measured else TextColumn(""),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
            ]
            if measured:
                columns.append(TextColumn("eta"))
                columns.append(TimeRemainingColumn())
            columns.append(TextColumn("{task.fields[detail]}"))
            self._progress = Progress(*columns, console=console, transient=False)

    @property
    def last(self) -> BulkProgress | None:
        """The last snapshot received."""
        return self._last

    @property
    def console(self) -> Console:
        """The console messages go to (the bar's, while it runs)."""
        return self._progress.console if self._progress is not None else self._console

    def print(self, message: str) -> None:
        """Print a message line (above the bar on a terminal; never markup)."""
        self.console.print(escape(message), highlight=False, soft_wrap=True)

    def _add_task(self, progress: Progress) -> TaskID:
        total = self._total if self._total is not None else self._total_bytes
        return progress.add_task(self._description, total=total, counts="", detail="")

    def __call__(self, progress: BulkProgress) -> None:
        """Show ``progress`` (called by the bulk engine on its event loop; quick)."""
        self._last = progress
        if self._progress is not None and self._task is not None:
            done = progress.succeeded + progress.failed
            if self._total is not None:
                completed = float(done)
            elif self._total_bytes is not None and self._bytes_read is not None:
                completed = float(self._bytes_read())
            else:
                completed = float(done)
            counts = f"{done:,} tasks"
            if self._total is not None:
                counts = f"{done:,}/{self._total:,} tasks"
            detail = f"{_rate(progress):,.0f} tasks/s  failed {progress.failed}"
            if progress.retried:
                detail += f"  retried {progress.retried}"
            if progress.throttled:
                detail += f"  throttled {progress.throttled}"
            detail += f"  in flight {progress.in_flight}"
            self._progress.update(self._task, completed=completed, counts=counts, detail=detail)
            return
        now = time.monotonic()
        if progress.done or now - self._last_line >= self._interval:
            self._last_line = now
            self._console.print(format_progress(progress), highlight=False, soft_wrap=True)
