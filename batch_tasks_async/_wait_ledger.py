"""What a wait on a job's tasks knows, and what it should ask next: one object, no I/O.

[`WaitLedger`][batch_tasks_async._wait_ledger.WaitLedger] takes what the service answered
(task counts, pages of completed tasks, whether any task is still incomplete) and says what to
request next. The I/O loop in ``_wait.py`` only carries out its actions, so every rule here is
tested by feeding it a model of a job (``tests/unit/test_wait_ledger.py``).

How polling stays cheap and exact:

* Task counts first: one small request per poll. A listing is sent only when the counts
  changed (or every ``list_every`` polls, as a safety net for counts that lag).
* A listing asks only for completed tasks whose ``stateTransitionTime`` is at or after a
  watermark, with the few properties a summary needs. After a listing, the watermark becomes
  the newest transition seen *before that listing began*, minus ``lag_tolerance``: a task
  that shows up to that long after its transition time is still found, even one that completed
  behind a multi-page listing's cursor, because the watermark never passes a transition the
  service had not shown when the last listing started.
* Nothing is counted twice: a completion is new only if its task is not in the window of
  recent completions (ids with a transition at or after the watermark; older ones can never be
  listed again) and is not a known failure with the same transition time. Ties and coarse
  clocks are harmless: the filter is ``ge``, and duplicates are recognised by id.
* A failed task may be reactivated and complete again: it is kept by id (failures are kept
  for the summary anyway), so its new completion replaces the old one. A task that succeeded
  cannot be reactivated, so succeeded tasks are only counted: memory is bounded by the
  failures and the tasks completing within ``lag_tolerance``, not by the job's size.
* The job is done when the counts show no active or running task, a list query (exact,
  unlike the counts) finds no incomplete task, one last listing collects the final
  completions, and a confirming query made *after* that listing (one page, one request, so a
  snapshot) shows no task that is incomplete or has a transition not yet counted, among the
  tasks that are incomplete or transitioned at or after the newest transition seen before the
  last listing began (the base). Why nothing can be missed: when the exact check found no
  incomplete task, every task showed its completion; a task that changed after that (a failed
  task reactivated, maybe completed again, even behind the last listing's cursor) has a
  transition time after the check, so at or after the base, and the confirming query shows it
  (incomplete, or completed at a time not counted). Every other task kept the completion the
  last listing saw. Otherwise the wait goes on, and a reactivated task is counted once when it
  completes again.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs

from . import models
from .errors import ClientValidationError

__all__ = [
    "CompletedTask",
    "TaskFailure",
    "WaitAction",
    "WaitLedger",
    "WaitProgress",
    "WaitSummary",
]

#: How late a completed task may show in a listing after its ``stateTransitionTime``.
DEFAULT_LAG_TOLERANCE: Final = 5.0
#: Polls without a listing after which one is sent even though the counts did not change.
DEFAULT_LIST_EVERY: Final = 10


@attrs.frozen(kw_only=True)
class CompletedTask:
    """A task that reached the ``completed`` state, as ``watch`` yields it.

    Attributes:
        task_id: The task's id, as the service spells it.
        succeeded: Whether the task succeeded (``executionInfo.result`` is ``success``).
        exit_code: The exit code of the task's command line, if it ran.
        failure_info: Why the task failed, when the service says (e.g. a resource file that
            could not be downloaded, or the task was terminated).
        state_transition_time: When the task completed.
    """

    task_id: str
    succeeded: bool
    exit_code: int | None = None
    failure_info: models.TaskFailureInformation | None = None
    state_transition_time: datetime


@attrs.frozen(kw_only=True)
class TaskFailure:
    """A task that completed and failed, as the summary lists it.

    Attributes:
        task_id: The task's id.
        exit_code: The exit code of its command line, if it ran.
        failure_info: The service's ``failureInfo`` (category, code, message), if any.
        state_transition_time: When it completed.
    """

    task_id: str
    exit_code: int | None = None
    failure_info: models.TaskFailureInformation | None = None
    state_transition_time: datetime


@attrs.frozen(kw_only=True)
class WaitProgress:
    """Where a wait stands, passed to ``on_progress`` after every poll.

    Attributes:
        total: The tasks waited on: the given ids, or the job's tasks as last counted.
        succeeded: Tasks seen completed with success.
        failed: Tasks seen completed with failure.
        active: Tasks active in the job, as last counted (job-wide even when ids are given).
        running: Tasks running or preparing in the job, as last counted.
    """

    total: int
    succeeded: int
    failed: int
    active: int
    running: int

    @property
    def completed(self) -> int:
        """Tasks seen completed."""
        return self.succeeded + self.failed


@attrs.frozen(kw_only=True)
class WaitSummary:
    """What a wait found: counts, and every failed task with its exit code and failure.

    Attributes:
        total: The tasks waited on (when done: exactly the tasks that completed, plus
            ``missing``).
        succeeded: Tasks that completed with success.
        failed: Tasks that completed with failure (``len(failures)``).
        failures: Each failed task, in the order their failures were seen.
        missing: Given ids that the job does not have (found once every task of the job was
            completed).
        done: Whether every task waited on completed (``False`` in a timeout's summary).
    """

    total: int
    succeeded: int
    failed: int
    failures: tuple[TaskFailure, ...] = ()
    missing: tuple[str, ...] = ()
    done: bool = False

    @property
    def completed(self) -> int:
        """Tasks that completed."""
        return self.succeeded + self.failed

    @property
    def pending(self) -> int:
        """Tasks not (yet) seen completed."""
        return max(self.total - self.completed - len(self.missing), 0)

    @property
    def all_succeeded(self) -> bool:
        """Whether the wait is done with no failed and no missing task."""
        return self.done and self.failed == 0 and not self.missing


class WaitAction(enum.Enum):
    """What the I/O loop should do next (``WaitLedger.next_action``)."""

    #: ``GET /jobs/{job}/taskcounts``, then ``counts_received``.
    FETCH_COUNTS = "fetch counts"
    #: List completed tasks since ``WaitLedger.since`` (filter ``WaitLedger.list_filter()``),
    #: feed each page to ``page_received``, then call ``listing_finished``.
    LIST_COMPLETED = "list completed"
    #: List at most one task that is not completed, then ``incomplete_checked``.
    CHECK_INCOMPLETE = "check incomplete"
    #: One request (no further pages) for at most ``CONFIRM_MAX_RESULTS`` tasks in any state
    #: matching ``WaitLedger.confirm_filter()``, selecting ``COMPLETED_SELECT``; then
    #: ``confirm_received``.
    CONFIRM = "confirm"
    #: Sleep the poll interval, then ``slept``.
    SLEEP = "sleep"
    #: Nothing left to do: ``summary()`` is final.
    DONE = "done"


#: The OData filter of the ``CHECK_INCOMPLETE`` listing.
INCOMPLETE_FILTER: Final = "state ne 'completed'"
#: The page size of the ``CONFIRM`` query (the service's maximum).
CONFIRM_MAX_RESULTS: Final = 1000
#: The task properties a ``LIST_COMPLETED`` listing selects.
COMPLETED_SELECT: Final = ("id", "state", "stateTransitionTime", "executionInfo")


def _filter_datetime(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return f"datetime'{text}'"


class WaitLedger:
    """The state of a wait: what is known complete, failed or pending, and what to poll next.

    Args:
        task_ids: Wait for these tasks only (ids compare case-insensitively, as in Batch);
            ``None`` waits for every task of the job.
        lag_tolerance: Seconds a completed task may take to show in listings after its
            ``stateTransitionTime`` (the watermark stays this far behind the newest one seen).
        list_every: Send a listing at least every this many polls, even if counts are unchanged.
    """

    def __init__(
        self,
        task_ids: Iterable[str] | None = None,
        *,
        lag_tolerance: float = DEFAULT_LAG_TOLERANCE,
        list_every: int = DEFAULT_LIST_EVERY,
    ) -> None:
        if isinstance(lag_tolerance, bool) or not isinstance(lag_tolerance, int | float):
            raise ClientValidationError(f"lag_tolerance must be seconds, got {lag_tolerance!r}")
        if not lag_tolerance >= 0:
            raise ClientValidationError(f"lag_tolerance must be >= 0, got {lag_tolerance!r}")
        if isinstance(list_every, bool) or not isinstance(list_every, int) or list_every < 1:
            raise ClientValidationError(f"list_every must be an int >= 1, got {list_every!r}")
        self._lag = timedelta(seconds=lag_tolerance)
        self._list_every = list_every
        self._pending: dict[str, str] | None = None  # case-folded id -> id as given
        self._total_ids = 0
        if task_ids is not None:
            if isinstance(task_ids, str):
                raise ClientValidationError("task_ids must be a collection of ids, not one string")
            pending: dict[str, str] = {}
            for task_id in task_ids:
                if not isinstance(task_id, str) or not task_id:
                    raise ClientValidationError(
                        f"task_ids must hold non-empty strings, got {task_id!r}"
                    )
                pending.setdefault(task_id.casefold(), task_id)
            self._pending = pending
            self._total_ids = len(pending)
        self._succeeded = 0
        self._failures: dict[str, TaskFailure] = {}
        self._recent: dict[str, datetime] = {}
        self._newest: datetime | None = None
        self._listing_base: datetime | None = None
        #: Lower bound (inclusive) of the next listing's ``stateTransitionTime``.
        self.since: datetime | None = None
        self._counts: models.TaskCounts | None = None
        self._polls_without_listing = 0
        #: ``None``: not ending; ``"listing"``: the last listing runs (the job was seen done);
        #: ``"confirming"``: the query made after that listing is under way.
        self._ending: str | None = None
        #: The confirming query's lower bound: the base of the last listing.
        self.confirm_since: datetime | None = None
        self._action = (
            WaitAction.DONE
            if self._pending is not None and not self._pending
            else WaitAction.FETCH_COUNTS
        )
        self._missing: tuple[str, ...] = ()

    # -- what to do next ---------------------------------------------------------------------

    def next_action(self) -> WaitAction:
        """The next step of the I/O loop."""
        return self._action

    def list_filter(self) -> str:
        """The ``$filter`` of the next ``LIST_COMPLETED`` listing."""
        if self.since is None:
            return "state eq 'completed'"
        return f"state eq 'completed' and stateTransitionTime ge {_filter_datetime(self.since)}"

    def confirm_filter(self) -> str | None:
        """The ``$filter`` of the ``CONFIRM`` query (``None``: every task of the job)."""
        if self.confirm_since is None:
            return None
        return (
            f"{INCOMPLETE_FILTER} or stateTransitionTime ge {_filter_datetime(self.confirm_since)}"
        )

    def _expect(self, action: WaitAction) -> None:
        if self._action is not action:
            raise RuntimeError(f"the wait expected {self._action.value!r}, not {action.value!r}")

    def _start_listing(self) -> None:
        # A listing of many pages is no snapshot: a task may complete, and show, after its
        # page went by. Every transition up to the newest one seen *before* this listing began
        # had shown (give or take ``lag_tolerance``) by the time the listing's first page was
        # served, so this listing sees it; the next watermark may advance only that far.
        self._listing_base = self._newest
        self._action = WaitAction.LIST_COMPLETED

    def _job_looks_done(self) -> bool:
        counts = self._counts
        return counts is not None and counts.active == 0 and counts.running == 0

    # -- events ------------------------------------------------------------------------------

    def counts_received(self, counts: models.TaskCounts) -> None:
        """The task counts of the job arrived."""
        self._expect(WaitAction.FETCH_COUNTS)
        previous, self._counts = self._counts, counts
        self._polls_without_listing += 1
        changed = previous is None or _count_tuple(previous) != _count_tuple(counts)
        if self._job_looks_done():
            # Straight to the exact check: the listing after it collects what changed.
            self._action = WaitAction.CHECK_INCOMPLETE
        elif changed or self._polls_without_listing >= self._list_every:
            self._start_listing()
        else:
            self._action = WaitAction.SLEEP

    def page_received(self, tasks: Iterable[CompletedTask]) -> list[CompletedTask]:
        """A page of the completed-tasks listing arrived; return the completions that are new.

        Tasks may come in any order, repeat across listings, and (if the service ignored the
        filter) include tasks older than the watermark: each completion is returned once.
        """
        self._expect(WaitAction.LIST_COMPLETED)
        return self._take(tasks)

    def _take(self, tasks: Iterable[CompletedTask]) -> list[CompletedTask]:
        fresh: list[CompletedTask] = []
        since = self.since
        pending = self._pending
        for task in tasks:
            when = task.state_transition_time
            if since is not None and when < since:
                continue  # before the watermark: counted by an earlier listing
            if self._newest is None or when > self._newest:
                self._newest = when  # any task's: the watermark is about what the service showed
            key = task.task_id.casefold()
            seen = self._recent.get(key)
            if seen is not None and when <= seen:
                continue
            failure = self._failures.get(key)
            if failure is not None:
                if when <= failure.state_transition_time:
                    continue
                del self._failures[key]  # reactivated and completed again: the new outcome counts
            elif seen is not None:
                # A succeeded task cannot be reactivated: a later time is the same completion.
                self._recent[key] = when
                continue
            elif pending is not None:
                if key not in pending:
                    continue  # not waited on, or already counted
                del pending[key]
            self._recent[key] = when
            if task.succeeded:
                self._succeeded += 1
            else:
                self._failures[key] = TaskFailure(
                    task_id=task.task_id,
                    exit_code=task.exit_code,
                    failure_info=task.failure_info,
                    state_transition_time=when,
                )
            fresh.append(task)
        return fresh

    def listing_finished(self) -> None:
        """The completed-tasks listing has no more pages."""
        self._expect(WaitAction.LIST_COMPLETED)
        self._polls_without_listing = 0
        base = self._listing_base
        if self._listing_base is not None:
            since = self._listing_base - self._lag
            if self.since is None or since > self.since:
                self.since = since
                self._recent = {k: t for k, t in self._recent.items() if t >= since}
        if self._pending is not None and not self._pending:
            self._action = WaitAction.DONE
        elif self._ending == "listing":
            # Not done yet: a task may have been reactivated while the listing ran (and even
            # completed again behind its cursor). Only a snapshot made after it can tell.
            self._ending = "confirming"
            self.confirm_since = base
            self._action = WaitAction.CONFIRM
        elif self._job_looks_done():
            self._action = WaitAction.CHECK_INCOMPLETE
        else:
            self._action = WaitAction.SLEEP

    def incomplete_checked(self, found: bool) -> None:
        """The check for a task that is not completed came back (``found``: one exists)."""
        self._expect(WaitAction.CHECK_INCOMPLETE)
        if found:
            self._ending = None
            self._action = WaitAction.SLEEP
        else:
            self._ending = "listing"
            self._start_listing()

    def confirm_received(
        self, tasks: Iterable[CompletedTask], *, incomplete: bool, more: bool
    ) -> list[CompletedTask]:
        """The ``CONFIRM`` query came back; return the completions that are new.

        Args:
            tasks: Its completed tasks.
            incomplete: Whether it showed a task that is not completed.
            more: Whether the service had more tasks than one page (no snapshot then).
        """
        self._expect(WaitAction.CONFIRM)
        fresh = self._take(tasks)
        self._ending = None
        if self._pending is not None and not self._pending:
            self._action = WaitAction.DONE
        elif incomplete or fresh or more:
            # The job moved on after the last listing (or the query was no snapshot): poll
            # again; the next exact check, listing and confirming query start from here.
            self._action = WaitAction.SLEEP
        else:
            self._missing = tuple(sorted((self._pending or {}).values()))
            self._action = WaitAction.DONE
        return fresh

    def slept(self) -> None:
        """The poll interval has passed."""
        self._expect(WaitAction.SLEEP)
        self._action = WaitAction.FETCH_COUNTS

    # -- what is known -----------------------------------------------------------------------

    @property
    def succeeded(self) -> int:
        """Tasks counted as succeeded."""
        return self._succeeded

    @property
    def failed(self) -> int:
        """Tasks counted as failed."""
        return len(self._failures)

    @property
    def window(self) -> int:
        """Ids kept to recognise repeated completions (bounded by ``lag_tolerance``)."""
        return len(self._recent)

    def _total(self) -> int:
        if self._pending is not None:
            return self._total_ids
        completed = self._succeeded + len(self._failures)
        if self._action is WaitAction.DONE:
            return completed
        counts = self._counts
        if counts is None:
            return completed
        return max(counts.active + counts.running + counts.completed, completed)

    def progress(self) -> WaitProgress:
        """Where the wait stands (cheap: no per-task data)."""
        counts = self._counts
        return WaitProgress(
            total=self._total(),
            succeeded=self._succeeded,
            failed=len(self._failures),
            active=counts.active if counts is not None else 0,
            running=counts.running if counts is not None else 0,
        )

    def summary(self) -> WaitSummary:
        """What is known so far (final once ``next_action()`` is ``DONE``)."""
        return WaitSummary(
            total=self._total(),
            succeeded=self._succeeded,
            failed=len(self._failures),
            failures=tuple(self._failures.values()),
            missing=self._missing,
            done=self._action is WaitAction.DONE,
        )


def _count_tuple(counts: models.TaskCounts) -> tuple[int, int, int, int, int]:
    return (counts.active, counts.running, counts.completed, counts.succeeded, counts.failed)


def completed_task(task: models.CloudTask) -> CompletedTask | None:
    """The completion a listed task describes, or ``None`` if it is not completed.

    Raises:
        ValueError: The task has no id or no ``stateTransitionTime``.
    """
    if task.state is not models.TaskState.COMPLETED:
        return None
    if not task.id or task.state_transition_time is None:
        raise ValueError("a completed task in the listing has no id or no stateTransitionTime")
    info = task.execution_info
    exit_code = info.exit_code if info is not None else None
    failure = info.failure_info if info is not None else None
    result = info.result if info is not None else None
    if result is not None and result in (
        models.TaskExecutionResult.SUCCESS,
        models.TaskExecutionResult.FAILURE,
    ):
        succeeded = result is models.TaskExecutionResult.SUCCESS
    else:
        succeeded = failure is None and exit_code in (None, 0)
    return CompletedTask(
        task_id=task.id,
        succeeded=succeeded,
        exit_code=exit_code,
        failure_info=failure,
        state_transition_time=task.state_transition_time,
    )


def failures_text(failures: Sequence[TaskFailure], limit: int = 5) -> str:
    """A short text naming the first failed tasks (for error messages)."""
    shown = ", ".join(
        f"{f.task_id} (exit code {f.exit_code})" if f.exit_code is not None else f.task_id
        for f in failures[:limit]
    )
    more = f" and {len(failures) - limit} more" if len(failures) > limit else ""
    return shown + more
