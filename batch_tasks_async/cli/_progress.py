"""Progress of a bulk submission: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from .._bulk._progress import BulkProgress

__all__ = ["ProgressView", "format_progress"]


def format_progress(progress: BulkProgress) -> str:
    """One line describing a progress snapshot."""
    rate = progress.succeeded / progress.elapsed if progress.elapsed > 0 else 0.0
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
    parts.append(f"{rate:,.0f} tasks/s")
    return ", ".join(parts)


class ProgressView:
    """An ``on_progress`` callback that shows the progress of a bulk add.

    On a terminal it drives a rich progress bar (``total`` tasks, or an open-ended bar when the
    total is unknown). Otherwise it prints :func:`format_progress` lines on the console at most
    every ``interval`` seconds, and once at the end.

    Use it as a context manager around the run; pass the object itself as ``on_progress``.
    """

    def __init__(
        self,
        console: Console,
        *,
        total: int | None = None,
        description: str = "adding tasks",
        interval: float = 5.0,
    ) -> None:
        self._console = console
        self._total = total
        self._description = description
        self._interval = interval
        self._last_line = -float("inf")
        self._last: BulkProgress | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[detail]}"),
                console=console,
                transient=False,
            )

    @property
    def last(self) -> BulkProgress | None:
        """The last snapshot received."""
        return self._last

    def __enter__(self) -> Self:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self._total, detail="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, progress: BulkProgress) -> None:
        """Show ``progress`` (called by the bulk engine on its event loop; quick)."""
        self._last = progress
        if self._progress is not None and self._task is not None:
            detail = (
                f"failed {progress.failed}  retried {progress.retried}  "
                f"in flight {progress.in_flight}  throttled {progress.throttled}"
            )
            self._progress.update(
                self._task,
                completed=progress.succeeded + progress.failed,
                total=self._total if self._total is not None else None,
                detail=detail,
            )
            return
        now = time.monotonic()
        if progress.done or now - self._last_line >= self._interval:
            self._last_line = now
            self._console.print(format_progress(progress), highlight=False, soft_wrap=True)
