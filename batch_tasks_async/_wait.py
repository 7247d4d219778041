"""``client.task.wait`` and ``client.task.watch``: the thin I/O loop around the wait ledger.

Every decision (what to poll, what is new, when the job is done) is the
[`WaitLedger`][batch_tasks_async._wait_ledger.WaitLedger]'s; this module only sends the
requests it asks for, feeds it the answers and keeps time.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Final, Unpack

import anyio

from . import models
from ._paging import AsyncPager, Page
from ._pipeline import RetryPolicy
from ._wait_ledger import (
    COMPLETED_SELECT,
    CONFIRM_MAX_RESULTS,
    DEFAULT_LAG_TOLERANCE,
    INCOMPLETE_FILTER,
    CompletedTask,
    WaitAction,
    WaitLedger,
    WaitProgress,
    WaitSummary,
    completed_task,
)
from .errors import (
    ClientValidationError,
    MissingTasksError,
    ResponseDecodeError,
    WaitTimeoutError,
)

if TYPE_CHECKING:
    from ._options import CallOptions
    from ._pipeline import Pipeline

__all__ = ["DEFAULT_POLL_INTERVAL", "ProgressHandler", "TaskWaitMixin"]

#: Seconds between polls.
DEFAULT_POLL_INTERVAL: Final = 5.0

ProgressHandler = Callable[[WaitProgress], object]


def _seconds(name: str, value: float | None, *, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ClientValidationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _completions(page: Page[models.CloudTask]) -> list[CompletedTask]:
    found: list[CompletedTask] = []
    for task in page.items:
        try:
            completion = completed_task(task)
        except ValueError as exc:
            raise ResponseDecodeError(200, reason=str(exc), request_id=page.request_id) from exc
        if completion is not None:
            found.append(completion)
    return found


class TaskWaitMixin:
    """``wait`` and ``watch``, mixed into ``client.task``.

    See [`TaskOperations`][batch_tasks_async._operations.TaskOperations].
    """

    _pipeline: Pipeline

    if TYPE_CHECKING:

        def list(
            self,
            job_id: str,
            *,
            filter: str | None = None,
            select: str | Sequence[str] | None = None,
            expand: str | Sequence[str] | None = None,
            max_results: int | None = None,
            **options: Unpack[CallOptions],
        ) -> AsyncPager[models.CloudTask]: ...

    async def wait(
        self,
        job_id: str,
        task_ids: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        lag_tolerance: float = DEFAULT_LAG_TOLERANCE,
        on_progress: ProgressHandler | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> WaitSummary:
        """Wait until every task of a job (or every task in ``task_ids``) is completed.

        Each poll costs one task-counts request; only when the counts changed does it list the
        tasks that completed since the last listing (``$filter`` on ``state`` and
        ``stateTransitionTime``, ``$select`` of four properties). It never gets tasks one by
        one, and keeps no per-task data for succeeded tasks, so a million-task job is waited
        on in bounded memory. Transient errors are retried by the HTTP layer.

        Args:
            job_id: The job.
            task_ids: Wait for these tasks only (case-insensitive); all of the job's if omitted.
            timeout: Give up after this many seconds with
                [`WaitTimeoutError`][batch_tasks_async.errors.WaitTimeoutError], which carries
                the summary so far. ``None`` waits for as long as it takes.
            poll_interval: Seconds between polls.
            lag_tolerance: Seconds a completed task may take to show in listings after its
                ``stateTransitionTime`` (the overlap between successive listings).
            on_progress: Called with a [`WaitProgress`][batch_tasks_async.WaitProgress] after
                every poll.
            retry_policy: Overrides the client's HTTP retry policy for the wait's requests.

        Returns:
            A [`WaitSummary`][batch_tasks_async.WaitSummary]: counts of succeeded and failed
            tasks, and for each failed task its id, exit code and ``failureInfo``.

        Raises:
            WaitTimeoutError: ``timeout`` passed first.
            NotFoundError: ``JobNotFound``: the job does not exist or was deleted.
            MissingTasksError: Some ``task_ids`` are not in the job (every task of the job
                completed without them showing up).

        For example:

            summary = await client.task.wait("job-1", timeout=3600)
            for failure in summary.failures:
                print(failure.task_id, failure.exit_code, failure.failure_info)
        """
        ledger, run = self._wait_run(
            job_id, task_ids, timeout, poll_interval, lag_tolerance, on_progress, retry_policy
        )
        async with aclosing(run) as events:
            async for _ in events:
                pass
        return ledger.summary()

    def watch(
        self,
        job_id: str,
        task_ids: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        lag_tolerance: float = DEFAULT_LAG_TOLERANCE,
        on_progress: ProgressHandler | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> AsyncGenerator[CompletedTask, None]:
        """Yield each task once as it completes, until all have (the options of ``wait``).

        Polls exactly as [`wait`][batch_tasks_async._wait.TaskWaitMixin.wait] does and yields
        a [`CompletedTask`][batch_tasks_async.CompletedTask] for every completion it finds:
        tasks that had completed before the call come first. A failed task that is
        reactivated and completes again is yielded again, with its new outcome.

        For example:

            async with contextlib.aclosing(client.task.watch("job-1")) as completions:
                async for task in completions:
                    if not task.succeeded:
                        print(task.task_id, "failed with", task.exit_code)

        Raises:
            WaitTimeoutError: ``timeout`` passed before every task completed.
            NotFoundError: ``JobNotFound``.
            MissingTasksError: Some ``task_ids`` are not in the job (after every other
                completion was yielded).
        """
        _ledger, run = self._wait_run(
            job_id, task_ids, timeout, poll_interval, lag_tolerance, on_progress, retry_policy
        )
        return run

    def _wait_run(
        self,
        job_id: str,
        task_ids: Iterable[str] | None,
        timeout: float | None,
        poll_interval: float,
        lag_tolerance: float,
        on_progress: ProgressHandler | None,
        retry_policy: RetryPolicy | None,
    ) -> tuple[WaitLedger, AsyncGenerator[CompletedTask, None]]:
        if not isinstance(job_id, str) or not job_id:
            raise ClientValidationError(f"job_id must be a non-empty string, got {job_id!r}")
        limit = _seconds("timeout", timeout, allow_none=True)
        interval = _seconds("poll_interval", poll_interval, allow_none=False)
        assert interval is not None
        if on_progress is not None and not callable(on_progress):
            raise ClientValidationError("on_progress must be callable")
        ledger = WaitLedger(task_ids, lag_tolerance=lag_tolerance)
        run = self._run(job_id, ledger, limit, interval, on_progress, retry_policy)
        return ledger, run

    async def _run(
        self,
        job_id: str,
        ledger: WaitLedger,
        limit: float | None,
        interval: float,
        on_progress: ProgressHandler | None,
        retry_policy: RetryPolicy | None,
    ) -> AsyncGenerator[CompletedTask, None]:
        # Imported here: _jobs imports _operations, which mixes this class in.
        from ._jobs import JobOperations

        jobs = JobOperations(self._pipeline)
        deadline = math.inf if limit is None else anyio.current_time() + limit

        def remaining() -> float:
            left = deadline - anyio.current_time()
            if left <= 0:
                raise WaitTimeoutError(ledger.summary(), limit or 0.0)
            return left

        def report() -> None:
            if on_progress is not None:
                on_progress(ledger.progress())

        while (action := ledger.next_action()) is not WaitAction.DONE:
            if action is WaitAction.LIST_COMPLETED:
                pager = self.list(
                    job_id,
                    filter=ledger.list_filter(),
                    select=COMPLETED_SELECT,
                    retry_policy=retry_policy,
                )
                async with aclosing(pager.pages()) as pages:
                    while True:
                        page: Page[models.CloudTask] | None = None
                        with anyio.move_on_after(remaining()):
                            page = await anext(pages, None)
                        if page is None:
                            remaining()  # raises if the wait timed out, else the listing ended
                            break
                        for completion in ledger.page_received(_completions(page)):
                            yield completion
                ledger.listing_finished()
                report()
                continue
            if action is WaitAction.CONFIRM:
                fresh: Sequence[CompletedTask] | None = None
                with anyio.move_on_after(remaining()):
                    fresh = await self._confirm(job_id, ledger, retry_policy)
                if fresh is None:
                    remaining()  # cut short: raises the timeout
                    continue
                for completion in fresh:
                    yield completion
                report()
                continue
            with anyio.move_on_after(remaining()):
                if action is WaitAction.FETCH_COUNTS:
                    counts = await jobs.get_task_counts(job_id, retry_policy=retry_policy)
                    ledger.counts_received(counts.task_counts)
                    report()
                elif action is WaitAction.CHECK_INCOMPLETE:
                    ledger.incomplete_checked(await self._any_incomplete(job_id, retry_policy))
                else:
                    await anyio.sleep(interval)
                    ledger.slept()
            if ledger.next_action() is action:
                remaining()  # the step was cut short: raises the timeout
        summary = ledger.summary()
        if summary.missing:
            raise MissingTasksError(summary)

    async def _confirm(
        self, job_id: str, ledger: WaitLedger, retry_policy: RetryPolicy | None
    ) -> Sequence[CompletedTask]:
        pager = self.list(
            job_id,
            filter=ledger.confirm_filter(),
            select=COMPLETED_SELECT,
            max_results=CONFIRM_MAX_RESULTS,
            retry_policy=retry_policy,
        )
        async with aclosing(pager.pages()) as pages:
            page = await anext(pages, None)
        if page is None:
            return ledger.confirm_received([], incomplete=False, more=False)
        return ledger.confirm_received(
            _completions(page),
            incomplete=any(t.state is not models.TaskState.COMPLETED for t in page.items),
            more=page.next_link is not None,
        )

    async def _any_incomplete(self, job_id: str, retry_policy: RetryPolicy | None) -> bool:
        pager = self.list(
            job_id, filter=INCOMPLETE_FILTER, select="id", max_results=1, retry_policy=retry_policy
        )
        async with aclosing(pager.pages()) as pages:
            async for page in pages:
                if page.items:
                    return True
        return False
