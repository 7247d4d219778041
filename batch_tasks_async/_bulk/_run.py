"""The driver of a bulk add: the I/O around the ledger, and nothing else.

One anyio task group per round: the *pump* (this task) reads the input and starts one task per
request; each request task sends, bounded in total time by ``attempt_timeout``, and hands the
outcome to the ledger; backoff waits and read-backs are tasks of their own; a *ticker* reports
progress, enforces the deadline and flushes a partial request when an async input stalls.
Every decision is the ledger's (``_ledger``, ``_decide``); the driver only waits.

Stopping (a deadline, an error that dooms every request, the caller's ``on_progress``
raising): nothing more is sent, backoff waits end at once, and nothing more is read -- an async
read already waiting on the caller's iterator gets ``READ_GRACE`` seconds to deliver its item,
then is cancelled. On a deadline, requests in flight are abandoned (their tasks unconfirmed,
ambiguous); after a fatal error they are let finish (bounded by ``attempt_timeout``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
import orjson

from .. import models
from ..errors import (
    BatchError,
    BatchTimeoutError,
    CreateTasksError,
    TaskInputError,
    UnconfirmedTask,
)
from ._aimd import Aimd
from ._decide import Next, created_by_this_run, same_task
from ._ledger import Ledger, Outcome, Place, Request, Task
from ._options import BulkOptions
from ._outcomes import unconfirmed_result
from ._reader import Reader

__all__ = [
    "READ_GRACE",
    "BulkRun",
    "ChunkSender",
    "ReadBack",
    "TaskInput",
    "TaskReader",
    "add_tasks",
]

#: How long a partial request may wait for a stalled async input before it is sent anyway.
LINGER: Final = 0.05
#: How long a read of the caller's async iterator may still take once the run stops.
READ_GRACE: Final = 0.5
#: Items a sync input is read in at a time, at most (the reader also stops once a request is
#: packed).
_READ_BATCH: Final = 256

_SUCCESS: Final = models.TaskAddStatus.SUCCESS

TaskInput = models.TaskAddParameter | Mapping[str, Any]
"""One input task: a model, or a wire-format mapping (camelCase keys) with a string ``"id"``."""


class ChunkSender(Protocol):
    """Sends one add-collection request; the seam between the engine and HTTP.

    ``body`` is the complete JSON body (``{"value":[...]}``). The sender returns the entries of
    the answer as the service gave them (in any order; entries it could not read left out), or
    raises an SDK error: [`ServiceError`][batch_tasks_async.errors.ServiceError] for an error
    status, [`ResponseDecodeError`][batch_tasks_async.errors.ResponseDecodeError] for a 2xx it
    cannot read, [`TransportError`][batch_tasks_async.errors.TransportError] for no answer. It
    must not retry: the engine owns retries.
    """

    def __call__(
        self, body: bytes, *, client_request_id: str
    ) -> Awaitable[list[models.TaskAddResult]]: ...


@attrs.frozen
class ReadBack:
    """A task read back to verify a ``TaskExists`` after an ambiguous attempt.

    Attributes:
        creation_time: The task's ``creationTime`` (service clock).
        fields: The task as the service returned it (wire JSON).
        service_date: The answer's ``Date`` header, if any.
        received_at: The client's clock when the answer arrived.
    """

    creation_time: datetime
    fields: Mapping[str, Any]
    service_date: datetime | None
    received_at: datetime


#: Reads one task back (``None`` when it does not exist); raises an SDK error otherwise.
TaskReader = Callable[[str], Awaitable[ReadBack | None]]


def judge_read_back(
    sent: bytes, first_sent: datetime | None, found: ReadBack | None
) -> bool | None:
    """Whether the task read back was created by this run (``None``: it is not there)."""
    if found is None or first_sent is None:
        return None
    created = created_by_this_run(
        found.creation_time,
        first_sent=first_sent,
        service_date=found.service_date,
        received_at=found.received_at,
    )
    return created and same_task(orjson.loads(sent), found.fields)


class BulkRun:
    """One bulk add: a ledger, an input, a sender, and the driver around them."""

    def __init__(
        self,
        send: ChunkSender,
        tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
        options: BulkOptions,
        *,
        read_back: TaskReader | None = None,
        keep_successes: bool = True,
    ) -> None:
        self.reader = Reader(tasks)
        policy = options.retry_policy
        self.ledger = Ledger(
            max_tasks=options.max_tasks_per_request,
            max_bytes=options.max_request_bytes,
            max_attempts=policy.max_attempts,
            max_throttled_attempts=policy.max_throttled_attempts,
            skip_existing=options.if_exists == "skip",
            keep_successes=keep_successes,
            size_hint=self.reader.size_hint,
        )
        self.options = options
        self.aimd = Aimd(options.concurrency)
        self._send = send
        self._read_back = read_back
        self._policy = policy
        self._read_ahead = options.concurrency * options.max_tasks_per_request
        #: Results not yet handed over above which the pump stops reading (stream mode).
        self.high_water = 2 * self._read_ahead
        self._wake_event: anyio.Event | None = None
        self._scopes: set[anyio.CancelScope] = set()  # sends and read-backs in flight
        self._waits: set[anyio.CancelScope] = set()  # backoff waits
        self._read_backs: anyio.CapacityLimiter | None = None  # made in the event loop
        self._read_scope: anyio.CancelScope | None = None
        self._started: float | None = None
        self._deadline_at = math.inf
        self._halted = False
        self.finished = False
        self._final_reported = False
        self.on_output: Callable[[], None] | None = None

    # -- events ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Something changed: let the pump look again."""
        event = self._wake_event
        if event is not None:
            self._wake_event = None
            event.set()

    async def _wait(self) -> None:
        event = self._wake_event
        if event is None:
            event = self._wake_event = anyio.Event()
        await event.wait()

    def _changed(self) -> None:
        if self.ledger.stopping:
            self._on_stop()
        if self.on_output is not None and self.ledger.out:
            self.on_output()
        self.wake()

    def stop(self, reason: str, error: BaseException | None) -> None:
        """Stop the run (see the module docstring)."""
        self.ledger.stop(reason, error)
        self._on_stop()
        self.wake()

    def _on_stop(self) -> None:
        for scope in list(self._waits):
            scope.cancel()
        read = self._read_scope
        if read is not None and math.isinf(read.deadline):
            read.deadline = anyio.current_time() + READ_GRACE

    def _halt(self, reason: str) -> None:
        """The deadline: stop, and cut off everything in flight."""
        self._halted = True
        self.stop(reason, None)
        for scope in list(self._scopes):
            scope.cancel()

    # -- progress --------------------------------------------------------------------------

    def progress(self) -> Any:
        """A [`BulkProgress`][batch_tasks_async.BulkProgress] snapshot."""
        elapsed = 0.0
        if self._started is not None:
            elapsed = anyio.current_time() - self._started
        return self.ledger.progress(
            elapsed=elapsed, concurrency_limit=self.aimd.tokens, done=self.finished
        )

    def _report(self) -> None:
        callback = self.options.on_progress
        if callback is None:
            return
        try:
            callback(self.progress())
        except Exception as exc:
            self.stop(f"run stopped: on_progress raised {exc!r}", exc)

    # -- the round -------------------------------------------------------------------------

    async def run(self, *, pause: bool = False) -> bool:
        """Run until every task read is final or the run stopped (``True``), or, with
        ``pause``, until results pile up and nothing is outstanding (``False``)."""
        if self.finished:
            return True
        if self._started is None:
            self._started = anyio.current_time()
            if self.options.deadline is not None:
                self._deadline_at = self._started + self.options.deadline
        if anyio.current_time() >= self._deadline_at:
            self._halt("deadline exceeded")
            return True
        done = False
        async with anyio.create_task_group() as tg:
            ticker = anyio.CancelScope()
            tg.start_soon(self._tick, tg, ticker)
            try:
                done = await self._pump(tg, pause=pause)
                while self.ledger.outstanding:
                    await self._wait()
            finally:
                ticker.cancel()
        return done or self.ledger.stopping

    async def _pump(self, tg: anyio.abc.TaskGroup, *, pause: bool) -> bool:
        ledger = self.ledger
        reader = self.reader
        while not ledger.stopping:
            self._dispatch(tg)
            if len(ledger.out) >= self.high_water:
                if pause:
                    return False  # direct iteration: hand these over first
                if self.on_output is not None:
                    await self._wait()  # the consumer is behind: read nothing more for now
                    continue
            if ledger.has_ready:
                await self._wait()  # every slot is busy
                continue
            if not reader.done and ledger.backlog < self._read_ahead:
                await self._read()
                continue
            if reader.done and len(ledger.chunker):
                ledger.flush()
                continue
            if reader.done and not ledger.outstanding:
                return True
            await self._wait()
        return True

    async def _read(self) -> None:
        reader = self.reader
        ledger = self.ledger
        try:
            if reader.is_async:
                with anyio.CancelScope() as scope:
                    self._read_scope = scope
                    try:
                        await reader.read_async(ledger)
                    finally:
                        self._read_scope = None
                if scope.cancelled_caught:
                    reader.done = (
                        True  # cut off after the grace: the caller's iterator may be spent
                    )
            else:
                reader.read_sync(ledger, _READ_BATCH)
                await anyio.lowlevel.checkpoint()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            # The caller's iterator failed: nothing more can be read.
            reader.done = True
            error = TaskInputError(f"reading the input tasks failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
            self.stop(f"run stopped: {error}", error)
        if ledger.out and self.on_output is not None:
            self.on_output()

    def _dispatch(self, tg: anyio.abc.TaskGroup) -> None:
        ledger = self.ledger
        tokens = self.aimd.tokens
        if not ledger.has_ready or len(ledger.in_flight) >= tokens:
            return
        now = datetime.now(UTC)
        while ledger.has_ready and len(ledger.in_flight) < tokens:
            request = ledger.take(now)
            if request is None:
                return
            request.epoch = self.aimd.epoch
            tg.start_soon(self._attempt, tg, request)

    async def _attempt(self, tg: anyio.abc.TaskGroup, request: Request) -> None:
        ledger = self.ledger
        size = len(request.tasks)
        entries: list[models.TaskAddResult] | None = None
        error: BaseException | None = None
        assert request.body is not None
        assert request.client_request_id is not None
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                with anyio.move_on_after(self.options.attempt_timeout) as timer:
                    entries = await self._send(
                        request.body, client_request_id=request.client_request_id
                    )
                if timer.cancelled_caught:
                    error = BatchTimeoutError(
                        f"the attempt took longer than {self.options.attempt_timeout} s "
                        "(attempt_timeout) and was cut off",
                        request_sent=True,
                    )
            except anyio.get_cancelled_exc_class():
                ledger.abandon(request, ledger.stop_reason or "cancelled")
                raise
            except BatchError as exc:
                error = exc
            except Exception as exc:  # a sender that breaks its contract: still an SDK error
                error = BatchError(f"the request failed unexpectedly: {exc!r}")
                error.__cause__ = exc
            finally:
                self._scopes.discard(scope)
        if scope.cancelled_caught:
            ledger.abandon(request, ledger.stop_reason or "cancelled")
            self._changed()
            return
        if error is None:
            assert entries is not None
            answer = ledger.answered(request, entries)
            self.aimd.answered(request.epoch, answer.throttled, size)
            if answer.retry is not None:
                delay = self._policy.backoff(answer.retry_attempts)
                tg.start_soon(self._retry_later, answer.retry, delay)
            for task in answer.verify:
                tg.start_soon(self._verify, task)
        else:
            verdict = ledger.failed(request, error)
            if verdict.throttled:
                self.aimd.answered(request.epoch, size, size)
            if verdict.next is Next.RESEND and not ledger.stopping:
                if verdict.throttled:
                    attempts = request.sends - request.failures
                else:
                    attempts = request.failures
                delay = self._policy.retry_delay(attempts, verdict.retry_after)
                tg.start_soon(self._resend_later, request.number, delay)
        self._changed()

    async def _sleep(self, delay: float) -> None:
        if delay <= 0:
            await anyio.lowlevel.checkpoint()
            return
        with anyio.CancelScope() as scope:
            self._waits.add(scope)
            try:
                if self.ledger.stopping:
                    scope.cancel()
                await self._policy.sleep(delay)
            finally:
                self._waits.discard(scope)

    async def _resend_later(self, number: int, delay: float) -> None:
        try:
            await self._sleep(delay)
        finally:
            self.ledger.requeue(number)
            self._changed()

    async def _retry_later(self, token: int, delay: float) -> None:
        try:
            await self._sleep(delay)
        finally:
            self.ledger.release(token)
            if self.reader.done:
                self.ledger.flush()
            self._changed()

    async def _verify(self, task: Task) -> None:
        ledger = self.ledger
        reader = self._read_back
        verdict: bool | None = None
        if self._read_backs is None:
            # Read-backs share the request budget: a burst of them must not swamp the pool.
            self._read_backs = anyio.CapacityLimiter(self.options.concurrency)
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if reader is not None:
                    async with self._read_backs:
                        with anyio.move_on_after(self.options.attempt_timeout):
                            found = await reader(task.id)
                            verdict = judge_read_back(task.body, task.first_sent, found)
            except anyio.get_cancelled_exc_class():
                ledger.abandon_verify(task, ledger.stop_reason or "cancelled")
                raise
            except BatchError:
                verdict = None  # not known yet: the ledger sends it again, within budget
            finally:
                self._scopes.discard(scope)
        if task.seq in ledger.verifying:
            if scope.cancelled_caught:
                ledger.abandon_verify(task, ledger.stop_reason or "cancelled")
            else:
                ledger.verified(task, verdict)
                if self.reader.done:
                    ledger.flush()
        self._changed()

    async def _tick(self, tg: anyio.abc.TaskGroup, scope: anyio.CancelScope) -> None:
        with scope:
            interval = self.options.progress_interval
            last_report = anyio.current_time()
            last_reads = -1
            while True:
                now = anyio.current_time()
                tick = min(interval, LINGER) if self.reader.is_async else interval
                await anyio.sleep(max(0.0, min(tick, self._deadline_at - now)))
                now = anyio.current_time()
                if now >= self._deadline_at and not self._halted:
                    self._halt("deadline exceeded")
                reader = self.reader
                if reader.is_async and not self.ledger.stopping:
                    stalled = reader.reading and reader.reads == last_reads
                    last_reads = reader.reads
                    if stalled and len(self.ledger.chunker):
                        self.ledger.flush()
                        self._dispatch(tg)
                if now - last_report >= interval:
                    last_report = now
                    self._report()

    # -- the end ---------------------------------------------------------------------------

    def finish(self) -> None:
        """Freeze the outcome (idempotent) and deliver the final progress report."""
        if not self.finished:
            reason = self.ledger.stop_reason or "cancelled"
            self.ledger.finish(reason)
            self.finished = True
        if not self._final_reported:
            self._final_reported = True
            self._report()

    def unconfirmed(self) -> list[UnconfirmedTask]:
        """Unconfirmed tasks in input order (every task not final, before the run ends)."""
        found = list(self.ledger.unconfirmed)
        if not self.finished:
            reason = self.ledger.stop_reason or "not final yet"
            found.extend(
                (
                    task.seq,
                    UnconfirmedTask(task.id, reason, ambiguous=task.ambiguous, task=task.source),
                )
                for task in self.ledger.live()
            )
        found.sort(key=_first)
        return [item for _, item in found]

    def error(
        self, failed: list[Outcome], *, result: models.TaskAddCollectionResult | None
    ) -> CreateTasksError:
        """The error for a run that did not add every task."""
        counts = self.progress()
        return CreateTasksError(
            failed=[outcome[1] for outcome in failed],
            failed_tasks=[outcome[2] for outcome in failed],
            unconfirmed=self.unconfirmed(),
            request_errors=self.ledger.errors,
            added=counts.succeeded,
            result=result,
        )


_first: Final = operator.itemgetter(0)


async def add_tasks(
    send: ChunkSender,
    tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
    options: BulkOptions,
    *,
    read_back: TaskReader | None = None,
) -> models.TaskAddCollectionResult:
    """Add every task through ``send`` (``add_collection``; see
    [`BulkOptions`][batch_tasks_async.BulkOptions] and the bulk guide).

    Returns one result per task read, in input order (failures and unconfirmed tasks only
    with ``return_results=False``); an unconfirmed task's entry is a ``servererror``
    ``TaskNotConfirmed``.

    Raises:
        CreateTasksError: Some task was not added (``raise_on_failure``).
        ClientValidationError: ``tasks`` is not an iterable of tasks.
    """
    run = BulkRun(send, tasks, options, read_back=read_back, keep_successes=options.return_results)
    try:
        await run.run()
    finally:
        run.finish()
    ledger = run.ledger
    outcomes = ledger.out
    ledger.out = []
    failed: list[Outcome] = []
    if ledger.counts[Place.FAILED]:
        failed = sorted((o for o in outcomes if o[1].status is not _SUCCESS), key=_first)
    outcomes.extend((seq, unconfirmed_result(item), item.task) for seq, item in ledger.unconfirmed)
    outcomes.sort(key=_first)
    collection = models.TaskAddCollectionResult(value=[outcome[1] for outcome in outcomes])
    if options.raise_on_failure and (ledger.unconfirmed or failed):
        error = run.error(failed, result=collection)
        cause = ledger.errors[0] if ledger.errors else None
        raise error from cause
    return collection
