"""[`TaskAddStream`][batch_tasks_async.TaskAddStream]: the results of a bulk add as each becomes
final, handed over on an anyio memory object stream."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from types import TracebackType
from typing import Literal, Self

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .. import models
from ..errors import UnconfirmedTask
from ._ledger import Outcome
from ._options import BulkOptions
from ._progress import BulkProgress
from ._run import BulkRun, ChunkSender, TaskInput, TaskReader

__all__ = ["TaskAddStream", "stream_tasks"]

#: Batches of results buffered between the engine and the consumer.
_BUFFERED_BATCHES = 4


class TaskAddStream:
    """The per-task results of a bulk add, as each becomes final (``stream_add_collection``).

    Use it as an async context manager (recommended: requests keep flowing while your loop body
    runs, and leaving the block stops the run cleanly):

        async with client.task.stream_add_collection(job_id, tasks) as stream:
            async for result in stream:
                ...

    or iterate it directly (``async for result in client.task.stream_add_collection(...)``).
    Direct iteration runs no background tasks between items: each time the buffered results
    are used up, the engine runs until a batch of results is ready and nothing is in flight,
    then hands them over. This keeps ``break`` safe on every backend at some cost in throughput.

    Every yielded result is final. Tasks the run could not confirm (fatal error, deadline) are
    not yielded: when the stream ends with such tasks it raises
    [`CreateTasksError`][batch_tasks_async.errors.CreateTasksError] (with ``failed`` empty:
    failed results were yielded) unless ``raise_on_failure`` is false. After the stream ends, is
    closed or is cancelled, [`unconfirmed`][batch_tasks_async.TaskAddStream.unconfirmed] lists
    every task read whose outcome is unknown (each with the task as given, and ``ambiguous``
    when it may nevertheless have been added), and
    [`pending_results`][batch_tasks_async.TaskAddStream.pending_results] holds the final
    results that were ready but not yet yielded. Tasks the stream never read stay in your
    iterator, which the stream never closes.
    """

    def __init__(self, run: BulkRun, *, raise_on_failure: bool) -> None:
        self._run = run
        self._raise = raise_on_failure
        self._mode: Literal["new", "background", "direct", "closed"] = "new"
        self._tg: anyio.abc.TaskGroup | None = None
        self._bg_scope: anyio.CancelScope | None = None
        self._send: MemoryObjectSendStream[list[Outcome]] | None = None
        self._receive: MemoryObjectReceiveStream[list[Outcome]] | None = None
        self._batch: list[Outcome] = []
        self._index = 0
        self._engine_done = False
        self._raised = False
        self._output: anyio.Event | None = None

    # -- context manager -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._mode != "new":
            raise RuntimeError("this stream was already started")
        self._mode = "background"
        send, receive = anyio.create_memory_object_stream[list[Outcome]](_BUFFERED_BATCHES)
        self._send, self._receive = send, receive
        self._run.on_output = self._output_ready
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self._bg_scope = anyio.CancelScope()
        tg.start_soon(self._background)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._bg_scope is not None and not self._engine_done:
            self._bg_scope.cancel()
        tg = self._tg
        self._tg = None
        try:
            if tg is not None:
                try:
                    return await tg.__aexit__(exc_type, exc, tb)
                except BaseExceptionGroup as group:
                    # The engine's task never fails, so a group holding only the exception of
                    # the `async with` body is that exception, wrapped: let it propagate as is.
                    if exc is not None and group.exceptions == (exc,):
                        return False
                    raise
            return None
        finally:
            self._run.finish()
            self._mode = "closed"

    def _output_ready(self) -> None:
        event = self._output
        if event is not None:
            self._output = None
            event.set()

    async def _background(self) -> None:
        assert self._bg_scope is not None
        assert self._send is not None
        run = self._run
        try:
            with self._bg_scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._drain)
                    try:
                        await run.run()
                    finally:
                        run.finish()
                        self._engine_done = True
                        self._output_ready()
        finally:
            self._engine_done = True
            self._send.close()

    async def _drain(self) -> None:
        """Deliver what the ledger holds whenever the stream has room, until the run ends."""
        assert self._send is not None
        run = self._run
        while True:
            ledger = run.ledger
            if ledger.out:
                batch, ledger.out = ledger.out, []
                try:
                    await self._send.send(batch)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    ledger.out[:0] = batch
                    return
                except BaseException:
                    # Not delivered (cancelled, or the consumer went away): the results stay
                    # in the ledger, for `pending_results`.
                    ledger.out[:0] = batch
                    raise
                run.wake()  # room again: the pump may read on
                continue
            if self._engine_done:
                return
            event = self._output = anyio.Event()
            await event.wait()

    async def aclose(self) -> None:
        """Stop the run (outside ``async with``: forget it) and freeze `unconfirmed`."""
        if self._mode == "background":
            await self.__aexit__(None, None, None)
            return
        self._mode = "closed"
        self._run.finish()

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> models.TaskAddResult:
        run = self._run
        while True:
            if self._index < len(self._batch):
                outcome = self._batch[self._index]
                self._index += 1
                return outcome[1]
            self._batch, self._index = [], 0
            if self._mode == "new":
                self._mode = "direct"
            if self._mode == "closed":
                raise StopAsyncIteration
            if self._mode == "direct":
                if run.ledger.out:
                    self._batch, run.ledger.out = run.ledger.out, []
                    continue
                if not self._engine_done:
                    self._engine_done = await run.run(pause=True)
                    continue
            else:
                assert self._receive is not None
                try:
                    self._batch = await self._receive.receive()
                except anyio.EndOfStream:
                    pass
                else:
                    continue
            # The engine is done and every result was handed over.
            run.finish()
            if run.ledger.out:
                continue
            unconfirmed = run.unconfirmed()
            if self._raise and unconfirmed and not self._raised:
                self._raised = True
                error = run.error([], result=None)
                cause = run.ledger.errors[0] if run.ledger.errors else None
                raise error from cause
            raise StopAsyncIteration

    # -- outcome ---------------------------------------------------------------------------

    @property
    def progress(self) -> BulkProgress:
        """A snapshot of the run's counters."""
        progress: BulkProgress = self._run.progress()
        return progress

    @property
    def unconfirmed(self) -> list[UnconfirmedTask]:
        """Tasks read whose outcome is not known, in input order (complete once the stream has
        ended, been closed or been cancelled)."""
        return self._run.unconfirmed()

    @property
    def pending_results(self) -> list[models.TaskAddResult]:
        """Final results not yielded yet: after an early exit or a cancellation, the results
        the loop never saw. Yielded results, these and `unconfirmed` together account for
        every task read."""
        pending = [outcome[1] for outcome in self._batch[self._index :]]
        receive = self._receive
        if receive is not None:
            while True:
                try:
                    batch = receive.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
                self._batch.extend(batch)
                pending.extend(outcome[1] for outcome in batch)
        pending.extend(outcome[1] for outcome in self._run.ledger.out)
        return pending

    @property
    def request_errors(self) -> list[BaseException]:
        """Request-level errors that stopped the run or made a task be given up."""
        return list(self._run.ledger.errors)


def stream_tasks(
    send: ChunkSender,
    tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
    options: BulkOptions,
    *,
    read_back: TaskReader | None = None,
) -> TaskAddStream:
    """Add tasks in bulk, yielding one result per task as each becomes final (see
    [`TaskAddStream`][batch_tasks_async.TaskAddStream]). Memory stays bounded by the
    concurrency window whatever the number of tasks."""
    run = BulkRun(send, tasks, options, read_back=read_back)
    return TaskAddStream(run, raise_on_failure=options.raise_on_failure)
