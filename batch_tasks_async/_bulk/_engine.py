"""The bulk task submission engine behind ``add_collection`` and ``stream_add_collection``.

The engine is a function of a :class:`ChunkSender` -- "send one add-collection request body and
return the per-task results" -- so it is tested without HTTP. It owns every retry of bulk
submission (the sender's own HTTP retries are disabled).

Data flow (anyio structured concurrency, one task group per run)::

    input (iterable / async iterable, read lazily)
      -> reader: validate, serialize each task once, drop duplicate ids, pack by exact size
      -> dispatch: one request per chunk, at most `limit` in flight (a CapacityLimiter whose
         total is adapted to throttling, AIMD), one worker task per chunk -- never per task
      -> worker: send; retry the whole chunk (same body, same client-request-id) on 429/5xx/
         connection errors with backoff honouring Retry-After; split on 413; bisect on 400;
         stop the run on errors that doom every request (404, 401, 403, other 4xx)
      -> per-task results matched by id (case-insensitively): final results are emitted in
         batches; per-task `servererror` tasks wait out a backoff and are re-packed with others

Memory is bounded by the concurrency window: the reader only reads ahead while a request slot
is free, results are handed over in bounded batches, and the duplicate-id index costs about 16
bytes per task (see :mod:`._idset`).

Correctness rules:

* A task is in exactly one place at any time (the packer, a ready chunk, a request, a retry
  wait, or final), so it is never in two requests at once and never reported twice.
* A task whose request may have reached the service without an answer (timeout, connection
  lost after sending, 408 or 5xx, per-task ``servererror``, cancellation mid-request) is
  *ambiguous* -- except where the error code says the service refused the work (``ServerBusy``:
  ``batch_tasks_async._pipeline.outcome_unknown`` is the one rule both retry layers use).
  It is resubmitted with the same id; ``TaskExists`` for an ambiguous task means it was added.
* Nothing is reported added unless the service said so (``success``, or ``TaskExists`` after an
  ambiguous attempt, or ``TaskExists`` with ``if_exists="skip"``).

Client-side error codes (in ``TaskAddResult.error.code``; service-like names):

* ``RequestBodyTooLarge`` -- the task does not fit in a request body by itself (found by the
  client, or by the service's 413 for a request holding only this task).
* ``DuplicateTaskId`` -- the id (compared case-insensitively, as the service does) appeared
  earlier in the input; only the first occurrence is sent.
* ``MissingRequiredProperty`` / ``InvalidPropertyValue`` -- a mapping without a non-empty string
  ``"id"``.
* ``InvalidRequestBody`` -- an input item that is neither a ``TaskAddParameter`` nor a mapping,
  or that cannot be serialized to JSON.
* ``TaskNotConfirmed`` (status ``servererror``, only in ``add_collection``'s result) -- the run
  stopped before the task's outcome was known; see
  :class:`~batch_tasks_async.errors.UnconfirmedTask`.
* ``TaskResultMissing`` (status ``servererror``) -- the service's answers left the task out on
  every attempt.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Iterable,
    Iterator,
    Mapping,
)
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, Literal, Protocol, Self

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

from .. import models
from .._pipeline import REFUSED_CODES, outcome_unknown
from .._serialization import dumps
from ..errors import (
    ClientValidationError,
    CreateTasksError,
    ServiceError,
    TransportError,
    UnconfirmedTask,
)
from ._chunker import ENVELOPE_BYTES, Chunker, build_body
from ._idset import IdSet
from ._policy import BulkRetryPolicy
from ._progress import BulkProgress, ProgressCallback

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_PROGRESS_INTERVAL",
    "MAX_REQUEST_BYTES_LIMIT",
    "MAX_TASKS_PER_REQUEST",
    "ChunkSender",
    "TaskAddStream",
    "TaskInput",
    "add_tasks",
    "stream_tasks",
]

#: Default number of add-collection requests in flight.
DEFAULT_CONCURRENCY: Final = 16
#: The service's limit on tasks per add-collection request.
MAX_TASKS_PER_REQUEST: Final = 100
#: The documented service limit on an add-collection request body (1 MiB).
DEFAULT_MAX_REQUEST_BYTES: Final = 1_048_576
#: Largest ``max_request_bytes`` accepted.
MAX_REQUEST_BYTES_LIMIT: Final = 4 * 1_048_576
#: Smallest ``max_request_bytes`` accepted.
MIN_REQUEST_BYTES: Final = 64
#: Default interval between ``on_progress`` calls, in seconds.
DEFAULT_PROGRESS_INTERVAL: Final = 0.25
#: How long a partial chunk may wait for a stalled async input before it is sent anyway.
_LINGER: Final = 0.05
#: Rejections buffered by the reader before they are handed over.
_REJECT_BATCH: Final = 256

_TASK_MODEL: Final = models.TaskAddParameter
_SUCCESS: Final = models.TaskAddStatus.SUCCESS
_CLIENT_ERROR: Final = models.TaskAddStatus.CLIENT_ERROR
_SERVER_ERROR: Final = models.TaskAddStatus.SERVER_ERROR

#: 400 codes that describe the request rather than any task in it: every request would fail.
_FATAL_400_CODES: Final = frozenset(
    {
        "InvalidApiVersion",
        "InvalidAuthenticationInfo",
        "InvalidHeaderValue",
        "InvalidQueryParameterValue",
        "InvalidUri",
        "MissingRequiredHeader",
        "MissingRequiredQueryParameter",
        "UnsupportedApiVersion",
        "UnsupportedHeader",
        "UnsupportedHttpVerb",
        "UnsupportedQueryParameter",
        "UnsupportedRequestVersion",
    }
)
#: Tasks failed one by one with a request-level 400 before any request succeeded, after which
#: the 400 is taken to doom every request and the run stops.
_BISECT_FUSE: Final = 3

TaskInput = models.TaskAddParameter | Mapping[str, Any]
"""One input task: a model, or a wire-format mapping (camelCase keys) with a string ``"id"``."""


class ChunkSender(Protocol):
    """Sends one add-collection request; the seam between the engine and HTTP.

    ``body`` is the complete JSON body (``{"value":[...]}``). The sender returns the per-task
    results in the service's order, or raises :class:`~batch_tasks_async.errors.ServiceError`
    (for an error status) or :class:`~batch_tasks_async.errors.TransportError` (no response).
    It must not retry: the engine owns retries.
    """

    def __call__(
        self, body: bytes, *, client_request_id: str
    ) -> Awaitable[list[models.TaskAddResult]]: ...


class _Task:
    """One input task on its way: its id, its JSON (serialized once), and its retry state."""

    __slots__ = ("ambiguous", "attempts", "body", "id", "key", "seq")

    def __init__(self, task_id: str, key: str, body: bytes, seq: int) -> None:
        self.id = task_id
        self.key = key  # case-folded id, for matching the service's results
        self.body = body
        self.seq = seq  # position in the input
        self.attempts = 0  # answers received for this task (per-task servererror / missing)
        self.ambiguous = False  # some earlier attempt may have added it


class _Chunk:
    """A request in the making: its tasks, body and request id are fixed across its retries."""

    __slots__ = (
        "body",
        "epoch",
        "failures",
        "items",
        "request_id",
        "sending",
        "sends",
        "throttles",
    )

    def __init__(self, items: list[_Task]) -> None:
        self.items = items
        self.body: bytes | None = None
        self.request_id: str | None = None
        self.sends = 0
        self.failures = 0
        self.throttles = 0
        self.sending = False
        self.epoch = 0


class _RetryWait:
    """Tasks waiting out a backoff before they are re-packed."""

    __slots__ = ("items",)

    def __init__(self, items: list[_Task]) -> None:
        self.items = items


def _error(code: str, message: str, values: Mapping[str, str] | None = None) -> models.BatchError:
    return models.BatchError(
        code=code,
        message=models.ErrorMessage(lang="en-US", value=message),
        values=[models.BatchErrorDetail(key=k, value=v) for k, v in values.items()]
        if values
        else None,
    )


def _client_error(
    task_id: str, code: str, message: str, values: Mapping[str, str] | None = None
) -> models.TaskAddResult:
    return models.TaskAddResult(
        status=_CLIENT_ERROR, task_id=task_id, error=_error(code, message, values)
    )


def _too_large(task_id: str, size: int, limit: int, *, by_service: bool) -> models.TaskAddResult:
    if by_service:
        message = (
            f"The service rejected a {size}-byte request body holding only task {task_id!r} "
            f"(413 RequestBodyTooLarge); the client's limit was {limit} bytes."
        )
    else:
        message = (
            f"Task {task_id!r} makes a {size}-byte request body by itself, over the "
            f"{limit}-byte limit on a request body."
        )
    return _client_error(
        task_id,
        "RequestBodyTooLarge",
        message,
        {"RequestBodySize": str(size), "MaxRequestBodySize": str(limit)},
    )


def _peek_id(raw: object) -> str:
    if isinstance(raw, models.TaskAddParameter):
        task_id: object = raw.id
    elif isinstance(raw, Mapping):
        task_id = raw.get("id")
    else:
        task_id = None
    return task_id if isinstance(task_id, str) else ""


@attrs.frozen
class _Options:
    concurrency: int
    max_tasks_per_request: int
    max_request_bytes: int
    retry_policy: BulkRetryPolicy
    deadline: float | None
    if_exists: Literal["fail", "skip"]
    on_progress: ProgressCallback | None
    progress_interval: float


def _options(
    *,
    concurrency: int,
    max_tasks_per_request: int,
    max_request_bytes: int,
    retry_policy: BulkRetryPolicy | None,
    deadline: float | timedelta | None,
    if_exists: str,
    on_progress: ProgressCallback | None,
    progress_interval: float,
) -> _Options:
    def whole(name: str, value: object, low: int, high: float) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ClientValidationError(
                f"{name} must be an integer from {low} to {high}, got {value!r}"
            )
        return value

    whole("concurrency", concurrency, 1, math.inf)
    whole("max_tasks_per_request", max_tasks_per_request, 1, MAX_TASKS_PER_REQUEST)
    whole("max_request_bytes", max_request_bytes, MIN_REQUEST_BYTES, MAX_REQUEST_BYTES_LIMIT)
    if retry_policy is None:
        retry_policy = BulkRetryPolicy()
    elif not isinstance(retry_policy, BulkRetryPolicy):
        raise ClientValidationError(
            f"retry_policy must be a BulkRetryPolicy, got {type(retry_policy).__name__}"
        )
    seconds: float | None
    if deadline is None:
        seconds = None
    elif isinstance(deadline, timedelta):
        seconds = deadline.total_seconds()
    elif isinstance(deadline, int | float) and not isinstance(deadline, bool):
        seconds = float(deadline)
    else:
        raise ClientValidationError(f"deadline must be seconds or a timedelta, got {deadline!r}")
    if seconds is not None and not seconds > 0:
        raise ClientValidationError(f"deadline must be positive, got {deadline!r}")
    if if_exists not in ("fail", "skip"):
        raise ClientValidationError(f'if_exists must be "fail" or "skip", got {if_exists!r}')
    if on_progress is not None and not callable(on_progress):
        raise ClientValidationError("on_progress must be callable")
    if (
        isinstance(progress_interval, bool)
        or not isinstance(progress_interval, int | float)
        or not progress_interval > 0
    ):
        raise ClientValidationError(
            f"progress_interval must be a positive number, got {progress_interval!r}"
        )
    return _Options(
        concurrency=concurrency,
        max_tasks_per_request=max_tasks_per_request,
        max_request_bytes=max_request_bytes,
        retry_policy=retry_policy,
        deadline=seconds,
        if_exists="skip" if if_exists == "skip" else "fail",
        on_progress=on_progress,
        progress_interval=float(progress_interval),
    )


class _Stop(Exception):  # noqa: N818 - internal control flow, never escapes
    """Raised inside the reader to end it once the run is stopping."""


class _BulkRun:
    """The state and machinery of one bulk add. See the module docstring."""

    def __init__(
        self,
        send: ChunkSender,
        tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
        options: _Options,
        *,
        collect: bool,
    ) -> None:
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
        self._send = send
        self._opts = options
        self._policy = options.retry_policy
        self._sleep = options.retry_policy.sleep
        self._skip_existing = options.if_exists == "skip"
        self._collect = collect
        self._rng = random.Random()

        # Input side.
        self._input_done = False
        self._reading = False
        self._reads = 0
        self._seq = 0
        # A list's length is known: size the id index once instead of growing it (rehashing).
        self._ids = IdSet(len(tasks) if type(tasks) is list or type(tasks) is tuple else 0)
        self._chunker: Chunker[_Task] = Chunker(
            options.max_tasks_per_request, options.max_request_bytes
        )
        self._rejects: list[tuple[int, models.TaskAddResult]] = []
        self._retry_ready: list[_Task] = []
        self._held: set[_Chunk | _RetryWait] = set()
        self._stranded: list[tuple[_Task, str]] = []

        # Output side.
        self._out: deque[tuple[int, models.TaskAddResult]] = deque()
        self._high_water = 2 * options.concurrency * options.max_tasks_per_request
        self._collected: list[tuple[int, models.TaskAddResult]] = []

        # Counters (progress).
        self._added = 0
        self._existed = 0
        self._failed = 0
        self._retried = 0
        self._in_flight = 0
        self._requests_sent = 0
        self._requests_in_flight = 0
        self._throttled = 0
        self._requests_ok = 0
        self._bisected_400 = 0

        # Concurrency, created in the event loop: `_window` bounds the requests alive (sending
        # or waiting out a backoff) to `concurrency`; `_limiter` bounds the requests being sent,
        # its total adapted to throttling (AIMD).
        self._window: anyio.CapacityLimiter | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._epoch = 0
        self._credit = 0

        # Run control.
        self._tg: anyio.abc.TaskGroup | None = None
        self._started: float | None = None
        self._deadline_at = math.inf
        self._reader_scope: anyio.CancelScope | None = None
        self._sleep_scopes: set[anyio.CancelScope] = set()
        self._wake_event: anyio.Event | None = None
        self._room_event: anyio.Event | None = None
        self._out_event: anyio.Event | None = None
        self._stopping = False
        self._stop_reason: str | None = None
        self._request_errors: list[BaseException] = []
        self._deadline_hit = False
        self._finished = False
        self._final_reported = False
        self._unconfirmed: list[UnconfirmedTask] | None = None

    # ------------------------------------------------------------------------------------------
    # Progress
    # ------------------------------------------------------------------------------------------

    def progress(self) -> BulkProgress:
        """A snapshot of the counters."""
        limit = self._limiter.total_tokens if self._limiter is not None else self._opts.concurrency
        return BulkProgress(
            tasks_read=self._seq,
            added=self._added,
            already_existed=self._existed,
            failed=self._failed,
            retried=self._retried,
            in_flight=self._in_flight,
            requests_sent=self._requests_sent,
            requests_in_flight=self._requests_in_flight,
            throttled=self._throttled,
            concurrency_limit=int(limit),
            unconfirmed=len(self._unconfirmed) if self._unconfirmed is not None else 0,
            elapsed=(anyio.current_time() - self._started) if self._started is not None else 0.0,
            done=self._finished,
        )

    def _report(self) -> None:
        callback = self._opts.on_progress
        if callback is None:
            return
        try:
            callback(self.progress())
        except Exception as exc:
            self._stop(exc, f"on_progress raised {exc!r}")

    # ------------------------------------------------------------------------------------------
    # Input
    # ------------------------------------------------------------------------------------------

    def _reject(
        self, seq: int, task_id: str, code: str, message: str, values: Mapping[str, str] | None
    ) -> None:
        self._failed += 1
        self._rejects.append((seq, _client_error(task_id, code, message, values)))

    def _ingest(self, raw: object) -> None:
        """Validate, serialize, de-duplicate and pack one input item (never awaits)."""
        seq = self._seq
        self._seq = seq + 1
        # Exact types first: `isinstance(raw, Mapping)` is an ABC check, slow for models.
        cls = type(raw)
        if cls is _TASK_MODEL:
            task_id = raw.id  # type: ignore[attr-defined]
            model = True
        elif cls is dict or isinstance(raw, Mapping):
            task_id = raw.get("id")  # type: ignore[attr-defined]
            model = False
        elif isinstance(raw, _TASK_MODEL):
            task_id = raw.id
            model = True
        else:
            self._reject(
                seq,
                "",
                "InvalidRequestBody",
                f"Input task #{seq} is a {cls.__name__}; expected a "
                "models.TaskAddParameter or a wire-format mapping.",
                None,
            )
            return
        if type(task_id) is not str or not task_id:
            self._reject_id(seq, task_id, model=model)
            return
        try:
            body = dumps(raw if model or cls is dict else dict(raw))  # type: ignore[call-overload]
        except (TypeError, ValueError) as exc:
            self._reject(
                seq,
                task_id,
                "InvalidRequestBody",
                f"Task {task_id!r} cannot be serialized to JSON: {exc}",
                None,
            )
            return
        key = task_id.casefold()
        if not self._ids.add_hash(hash(key)):
            self._reject(
                seq,
                task_id,
                "DuplicateTaskId",
                f"Task id {task_id!r} appears more than once in the input (ids are compared "
                "case-insensitively); only its first occurrence is submitted.",
                {"TaskId": task_id},
            )
            return
        size = len(body)
        if not self._chunker.add(_Task(task_id, key, body, seq), size):
            self._failed += 1
            self._rejects.append(
                (
                    seq,
                    _too_large(
                        task_id,
                        size + ENVELOPE_BYTES,
                        self._chunker.hard_max_bytes,
                        by_service=False,
                    ),
                )
            )

    def _reject_id(self, seq: int, task_id: object, *, model: bool) -> None:
        if model:
            self._reject(
                seq,
                "",
                "InvalidPropertyValue",
                f"Input task #{seq} has an id that is not a non-empty string: {task_id!r}.",
                {"PropertyName": "id"},
            )
        elif task_id is None:
            self._reject(
                seq,
                "",
                "MissingRequiredProperty",
                f"Input task #{seq} has no 'id' property.",
                {"PropertyName": "id"},
            )
        else:
            self._reject(
                seq,
                str(task_id) if isinstance(task_id, str | int) else "",
                "InvalidPropertyValue",
                f"Input task #{seq} has an 'id' that is not a non-empty string: {task_id!r}.",
                {"PropertyName": "id"},
            )

    def _read_sync(self, it: Iterator[object]) -> None:
        """Read until a chunk is ready, rejections pile up, or the input ends."""
        ready = self._chunker.ready
        rejects = self._rejects
        ingest = self._ingest
        for raw in it:
            ingest(raw)
            if ready or len(rejects) >= _REJECT_BATCH:
                return
        self._input_done = True

    async def _read_async(self, ait: AsyncIterator[object]) -> None:
        ready = self._chunker.ready
        rejects = self._rejects
        ingest = self._ingest
        self._reading = True
        try:
            while True:
                try:
                    raw = await ait.__anext__()
                except StopAsyncIteration:
                    self._input_done = True
                    return
                self._reads += 1
                ingest(raw)
                if self._stopping:
                    raise _Stop
                if ready or len(rejects) >= _REJECT_BATCH:
                    return
        finally:
            self._reading = False

    def _flush_rejects(self) -> None:
        rejects = self._rejects
        self._rejects = []
        self._emit(rejects)

    # ------------------------------------------------------------------------------------------
    # Output
    # ------------------------------------------------------------------------------------------

    def _emit(self, pairs: list[tuple[int, models.TaskAddResult]]) -> None:
        if not pairs:
            return
        if self._collect:
            self._collected.extend(pairs)
        else:
            self._out.extend(pairs)
            event = self._out_event
            if event is not None:
                self._out_event = None
                event.set()

    def _out_full(self) -> bool:
        return not self._collect and len(self._out) >= self._high_water

    def _room(self) -> None:
        """Called by the consumer after taking results."""
        event = self._room_event
        if event is not None and len(self._out) < self._high_water // 2:
            self._room_event = None
            event.set()

    # ------------------------------------------------------------------------------------------
    # Coordination
    # ------------------------------------------------------------------------------------------

    def _wake(self) -> None:
        event = self._wake_event
        if event is not None:
            self._wake_event = None
            event.set()

    async def _wait_wake(self) -> None:
        event = self._wake_event
        if event is None:
            event = self._wake_event = anyio.Event()
        await event.wait()

    async def _backoff(self, delay: float) -> None:
        """Sleep ``delay`` with the policy's sleep; cut short when the run stops."""
        with anyio.CancelScope() as scope:
            self._sleep_scopes.add(scope)
            try:
                await self._sleep(delay)
            finally:
                self._sleep_scopes.discard(scope)

    def _stop(self, error: BaseException | None, reason: str) -> None:
        """Stop the run: send nothing more, let requests in flight finish, cut waits short."""
        if error is not None:
            self._request_errors.append(error)
        if self._stopping:
            return
        self._stopping = True
        self._stop_reason = reason
        for scope in list(self._sleep_scopes):
            scope.cancel()
        if self._reader_scope is not None and not self._reading:
            self._reader_scope.cancel()
        self._wake()
        room = self._room_event
        if room is not None:
            self._room_event = None
            room.set()

    # ------------------------------------------------------------------------------------------
    # The reader: packs and dispatches
    # ------------------------------------------------------------------------------------------

    async def _feed(self, tg: anyio.abc.TaskGroup, *, pause: bool) -> bool:
        """Read, pack and dispatch. Returns ``True`` when everything read is final (or the run
        is stopping), ``False`` when paused because the output buffer is full (``pause``)."""
        chunker = self._chunker
        ready = chunker.ready
        while not self._stopping:
            if self._retry_ready:
                retry = self._retry_ready
                self._retry_ready = []
                for task in retry:
                    chunker.add(task, len(task.body))
                if self._input_done:
                    chunker.flush()
            if self._rejects:
                self._flush_rejects()
                if not ready:
                    await anyio.lowlevel.checkpoint()
            if self._out_full():
                if pause:
                    return False
                self._room_event = anyio.Event()
                await self._room_event.wait()
                continue
            if ready:
                await self._dispatch(tg, ready.popleft())
                continue
            if not self._input_done:
                try:
                    if self._ait is not None:
                        await self._read_async(self._ait)
                    else:
                        assert self._it is not None
                        self._read_sync(self._it)
                except (_Stop, anyio.get_cancelled_exc_class()):
                    raise
                except Exception as exc:
                    # The caller's iterator failed: nothing more can be read. Requests in
                    # flight finish; everything else read so far is reported unconfirmed.
                    self._input_done = True
                    self._stop(exc, f"reading the input failed: {exc!r}")
                continue
            if len(chunker):
                chunker.flush()
                continue
            if not self._held:
                return True
            await self._wait_wake()
        return True

    def _repack(self, items: list[_Task]) -> list[list[_Task]]:
        """Pack ``items`` again under the current (lowered) byte limit, keeping their order."""
        chunker = self._chunker
        packer: Chunker[_Task] = Chunker(chunker.max_tasks, chunker.hard_max_bytes)
        packer.max_bytes = chunker.max_bytes
        for task in items:
            packer.add(task, len(task.body))
        packer.flush()
        return list(packer.ready)

    async def _dispatch(self, tg: anyio.abc.TaskGroup, items: list[_Task]) -> None:
        chunker = self._chunker
        if chunker.max_bytes < chunker.hard_max_bytes and len(items) > 1:
            # The limit was lowered (413) after this chunk was packed: fit it to the new limit.
            pieces = self._repack(items)
            if len(pieces) > 1:
                items = pieces[0]
                chunker.ready.extendleft(reversed(pieces[1:]))
        chunk = _Chunk(items)
        self._held.add(chunk)
        window = self._window
        assert window is not None
        waited = not window.available_tokens
        try:
            await window.acquire_on_behalf_of(chunk)
        except BaseException:
            self._held.discard(chunk)
            chunker.ready.appendleft(items)
            raise
        tg.start_soon(self._run_chunk, chunk)
        if waited:
            # A request just ended and freed this slot: let the new request go out before the
            # reader packs the next chunk, so that packing overlaps the request's round trip.
            await anyio.lowlevel.cancel_shielded_checkpoint()

    # ------------------------------------------------------------------------------------------
    # Workers
    # ------------------------------------------------------------------------------------------

    async def _run_chunk(self, chunk: _Chunk) -> None:
        window = self._window
        limiter = self._limiter
        assert window is not None
        assert limiter is not None
        try:
            first = True
            while True:
                if first and not self._stopping:
                    # Straight to the send when a slot is free (no extra trip through the
                    # event loop), but never past a cancellation.
                    first = False
                    await anyio.lowlevel.checkpoint_if_cancelled()
                    try:
                        limiter.acquire_on_behalf_of_nowait(chunk)
                    except anyio.WouldBlock:
                        await limiter.acquire_on_behalf_of(chunk)
                elif not self._stopping:
                    await limiter.acquire_on_behalf_of(chunk)
                if self._stopping:
                    self._strand(chunk.items, self._stop_reason or "run stopped")
                    chunk.items = []
                    return
                items = chunk.items
                n = len(items)
                if chunk.body is None:
                    chunk.body = build_body([task.body for task in items])
                if chunk.request_id is None:
                    chunk.request_id = str(uuid.uuid4())
                if chunk.sends:
                    self._retried += n
                chunk.sends += 1
                chunk.epoch = self._epoch
                chunk.sending = True
                self._requests_sent += 1
                self._requests_in_flight += 1
                self._in_flight += n
                try:
                    results = await self._send(chunk.body, client_request_id=chunk.request_id)
                except (ServiceError, TransportError) as exc:
                    chunk.sending = False
                    delay = self._on_request_error(chunk, exc)
                except anyio.get_cancelled_exc_class():
                    raise
                except Exception as exc:
                    # Not a documented sender failure: the request may or may not have been
                    # sent. Stop the run; these tasks are ambiguous.
                    chunk.sending = False
                    for task in items:
                        task.ambiguous = True
                    reason = f"the request failed unexpectedly: {exc!r}"
                    self._stop(exc, reason)
                    self._strand(items, reason)
                    chunk.items = []
                    return
                else:
                    chunk.sending = False
                    self._on_results(chunk, results)
                    return
                finally:
                    limiter.release_on_behalf_of(chunk)
                    self._requests_in_flight -= 1
                    self._in_flight -= n
                if delay is None:
                    return
                await self._backoff(delay)
        except anyio.get_cancelled_exc_class():
            if chunk.items:
                if chunk.sending:
                    for task in chunk.items:
                        task.ambiguous = True
                self._chunker.ready.appendleft(chunk.items)
                chunk.items = []
            raise
        finally:
            window.release_on_behalf_of(chunk)
            self._held.discard(chunk)
            self._wake()

    def _strand(self, items: list[_Task], reason: str) -> None:
        self._stranded.extend((task, reason) for task in items)

    def _throttle(self, chunk: _Chunk) -> None:
        """Multiplicative decrease, once per generation of requests."""
        self._throttled += 1
        if chunk.epoch == self._epoch:
            assert self._limiter is not None
            self._epoch += 1
            self._credit = 0
            self._limiter.total_tokens = max(1, int(self._limiter.total_tokens) // 2)

    def _succeeded(self, chunk: _Chunk) -> None:
        """Additive increase: one more request in flight per window of successes."""
        self._requests_ok += 1
        limiter = self._limiter
        assert limiter is not None
        tokens = int(limiter.total_tokens)
        if chunk.epoch == self._epoch and tokens < self._opts.concurrency:
            self._credit += 1
            if self._credit >= tokens:
                self._credit = 0
                limiter.total_tokens = tokens + 1

    def _split(self, chunk: _Chunk) -> None:
        items = chunk.items
        chunk.items = []
        self._retried += len(items)
        middle = len(items) // 2
        ready = self._chunker.ready
        ready.append(items[:middle])
        ready.append(items[middle:])
        self._wake()

    def _on_request_error(self, chunk: _Chunk, exc: ServiceError | TransportError) -> float | None:
        """Decide what a failed request means. Returns the delay before resending the same
        chunk, or ``None`` when the chunk is done with (split, failed, or stranded)."""
        items = chunk.items
        policy = self._policy
        retry_after: timedelta | None = None
        if outcome_unknown(exc):
            for task in items:
                task.ambiguous = True
        if isinstance(exc, TransportError):
            chunk.failures += 1
            attempts, limit = chunk.failures, policy.max_attempts
        else:
            status = exc.status_code
            retry_after = exc.retry_after
            if status == 413:
                body_size = len(chunk.body or b"")
                if len(items) == 1:
                    task = items[0]
                    chunk.items = []
                    self._failed += 1
                    self._emit(
                        [
                            (
                                task.seq,
                                _too_large(
                                    task.id,
                                    body_size,
                                    self._chunker.hard_max_bytes,
                                    by_service=True,
                                ),
                            )
                        ]
                    )
                    return None
                self._chunker.max_bytes = max(
                    MIN_REQUEST_BYTES, min(self._chunker.max_bytes, body_size // 2)
                )
                chunk.items = []
                pieces = self._repack(items)
                if len(pieces) == 1:  # the learned limit is at its floor: halve by count
                    middle = len(items) // 2
                    pieces = [items[:middle], items[middle:]]
                self._retried += len(items)
                self._chunker.ready.extend(pieces)
                self._wake()
                return None
            if status == 429:
                self._throttle(chunk)
                chunk.throttles += 1
                attempts, limit = chunk.throttles, policy.max_throttled_attempts
            elif status == 408 or status >= 500:
                if status == 503:
                    self._throttle(chunk)
                chunk.failures += 1
                attempts, limit = chunk.failures, policy.max_attempts
            elif status == 400 and exc.code not in _FATAL_400_CODES:
                if len(items) > 1:
                    self._split(chunk)
                    return None
                # The request held only this task, so the service's 400 is about it.
                task = items[0]
                chunk.items = []
                self._failed += 1
                self._bisected_400 += 1
                self._emit(
                    [
                        (
                            task.seq,
                            models.TaskAddResult(
                                status=_CLIENT_ERROR,
                                task_id=task.id,
                                error=_error(exc.code or "InvalidRequest", exc.message, exc.values),
                            ),
                        )
                    ]
                )
                if self._requests_ok == 0 and self._bisected_400 >= _BISECT_FUSE:
                    self._stop(exc, f"run stopped: every request was rejected: {exc}")
                return None
            else:
                # 401, 403, 404 (JobNotFound), 409 (job not active), ...: every request is doomed.
                reason = f"run stopped: {exc}"
                self._stop(exc, reason)
                self._strand(items, reason)
                chunk.items = []
                return None
        if self._stopping:
            self._strand(items, self._stop_reason or f"run stopped: {exc}")
            chunk.items = []
            return None
        if attempts >= limit:
            reason = f"gave up after {chunk.sends} attempts: {exc}"
            self._stop(exc, f"run stopped: a request failed {chunk.sends} times: {exc}")
            self._strand(items, reason)
            chunk.items = []
            return None
        return policy.retry_delay(attempts, retry_after, self._rng)

    def _on_results(self, chunk: _Chunk, results: list[models.TaskAddResult]) -> None:
        """Match the service's per-task results to the chunk's tasks (by id, ignoring case)."""
        items = chunk.items
        chunk.items = []
        by_key = {task.key: task for task in items}
        out: list[tuple[int, models.TaskAddResult]] = []
        retry: list[_Task] = []
        max_attempts = self._policy.max_attempts
        skip = self._skip_existing
        added = existed = failed = 0
        throttled = False
        for result in results:
            task_id = result.task_id
            task = by_key.pop(task_id.casefold(), None) if isinstance(task_id, str) else None
            if task is None:
                continue  # not one of ours (or a repeat): nothing to match
            status = result.status
            if status == _SUCCESS:
                added += 1
                out.append((task.seq, result))
            elif status == _SERVER_ERROR:
                task.attempts += 1
                code = result.error.code if result.error is not None else None
                if code in REFUSED_CODES:
                    throttled = True  # refused, not attempted: the task was not added
                else:
                    task.ambiguous = True
                if task.attempts < max_attempts:
                    retry.append(task)
                else:
                    failed += 1
                    out.append((task.seq, result))
            else:
                error = result.error
                if error is not None and error.code == "TaskExists" and (task.ambiguous or skip):
                    if task.ambiguous:
                        # An earlier attempt reached the service: that attempt added it.
                        added += 1
                        out.append(
                            (task.seq, models.TaskAddResult(status=_SUCCESS, task_id=task.id))
                        )
                    else:
                        existed += 1
                        out.append((task.seq, attrs.evolve(result, status=_SUCCESS)))
                else:
                    failed += 1
                    out.append((task.seq, result))
        for task in by_key.values():
            # The service's answer left this task out: its outcome is unknown.
            task.ambiguous = True
            task.attempts += 1
            if task.attempts < max_attempts:
                retry.append(task)
            else:
                failed += 1
                out.append(
                    (
                        task.seq,
                        models.TaskAddResult(
                            status=_SERVER_ERROR,
                            task_id=task.id,
                            error=_error(
                                "TaskResultMissing",
                                f"The service's answers did not include task {task.id!r} "
                                f"({task.attempts} attempts).",
                            ),
                        ),
                    )
                )
        self._added += added
        self._existed += existed
        self._failed += failed
        if throttled:
            self._throttle(chunk)
        else:
            self._succeeded(chunk)
        self._emit(out)
        if retry:
            self._retry(retry)

    def _retry(self, tasks: list[_Task]) -> None:
        if self._stopping:
            self._strand(tasks, self._stop_reason or "run stopped")
            return
        self._retried += len(tasks)
        delay = self._policy.backoff(max(task.attempts for task in tasks), self._rng)
        if delay <= 0 or self._tg is None:
            self._retry_ready.extend(tasks)
            self._wake()
            return
        wait = _RetryWait(tasks)
        self._held.add(wait)
        self._tg.start_soon(self._retry_later, wait, delay)

    async def _retry_later(self, wait: _RetryWait, delay: float) -> None:
        try:
            await self._backoff(delay)
        finally:
            self._held.discard(wait)
            self._retry_ready.extend(wait.items)
            wait.items = []
            self._wake()

    # ------------------------------------------------------------------------------------------
    # Side loop: progress ticks and flushing partial chunks of a stalled async input
    # ------------------------------------------------------------------------------------------

    async def _side_loop(self, tg: anyio.abc.TaskGroup, scope: anyio.CancelScope) -> None:
        with scope:
            interval = self._opts.progress_interval
            tick = min(interval, _LINGER) if self._ait is not None else interval
            last_report = anyio.current_time()
            last_reads = -1
            while True:
                await anyio.sleep(tick)
                if self._ait is not None and not self._stopping:
                    stalled = self._reading and self._reads == last_reads
                    last_reads = self._reads
                    if stalled and (len(self._chunker) or self._retry_ready):
                        retry = self._retry_ready
                        self._retry_ready = []
                        for task in retry:
                            self._chunker.add(task, len(task.body))
                        self._chunker.flush()
                        ready = self._chunker.ready
                        while ready and not self._stopping:
                            await self._dispatch(tg, ready.popleft())
                now = anyio.current_time()
                if now - last_report >= interval:
                    last_report = now
                    self._report()

    # ------------------------------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._started is None:
            self._started = anyio.current_time()
            if self._opts.deadline is not None:
                self._deadline_at = self._started + self._opts.deadline
            self._window = anyio.CapacityLimiter(self._opts.concurrency)
            self._limiter = anyio.CapacityLimiter(self._opts.concurrency)

    async def run_round(self, *, pause: bool) -> bool:
        """Run until finished (``True``) or, with ``pause``, until the output buffer is full and
        nothing is in flight (``False``). Cancellation leaves the state consistent."""
        if self._finished:
            return True
        self._start()
        done = False
        with anyio.CancelScope(deadline=self._deadline_at) as scope:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                side = anyio.CancelScope()
                tg.start_soon(self._side_loop, tg, side)
                try:
                    with anyio.CancelScope() as reader_scope:
                        self._reader_scope = reader_scope
                        if self._stopping:
                            reader_scope.cancel()
                        try:
                            done = await self._feed(tg, pause=pause)
                        except _Stop:
                            done = True
                    self._reader_scope = None
                    while self._held:
                        await self._wait_wake()
                    if self._stopping:
                        done = True
                finally:
                    self._reader_scope = None
                    self._tg = None
                    side.cancel()
        if scope.cancelled_caught:
            self._deadline_hit = True
            self._stop(None, "deadline exceeded")
            done = True
        if self._rejects:
            self._flush_rejects()
        return done

    async def drain_input(self) -> list[UnconfirmedTask]:
        """Read the rest of the input without sending it: every unread task, not added."""
        reason = self._stop_reason or "run stopped"
        unread: list[UnconfirmedTask] = []
        try:
            if self._ait is not None:
                async for raw in self._ait:
                    self._seq += 1
                    unread.append(UnconfirmedTask(_peek_id(raw), reason, ambiguous=False))
            elif self._it is not None:
                for raw in self._it:
                    self._seq += 1
                    unread.append(UnconfirmedTask(_peek_id(raw), reason, ambiguous=False))
        except Exception as exc:
            self._request_errors.append(exc)
        return unread

    def unconfirmed(self) -> list[UnconfirmedTask]:
        """Every task read whose outcome is not final, with the reason and whether it may have
        been added. Valid at any time the engine is not running."""
        if self._unconfirmed is not None:
            return self._unconfirmed
        reason = self._stop_reason or "cancelled"
        found: list[UnconfirmedTask] = [
            UnconfirmedTask(task.id, why, ambiguous=task.ambiguous) for task, why in self._stranded
        ]
        pending: list[_Task] = []
        for items in self._chunker.ready:
            pending.extend(items)
        pending.extend(self._chunker.pending)
        pending.extend(self._retry_ready)
        for holder in self._held:
            pending.extend(holder.items)
        found.extend(UnconfirmedTask(task.id, reason, ambiguous=task.ambiguous) for task in pending)
        return found

    def finish(self, extra: list[UnconfirmedTask] | None = None) -> list[UnconfirmedTask]:
        """Freeze the outcome (idempotent) and deliver the final progress report."""
        if self._unconfirmed is None:
            unconfirmed = self.unconfirmed()
            if extra:
                unconfirmed.extend(extra)
            self._unconfirmed = unconfirmed
            self._stranded = []
            self._chunker.ready.clear()
            self._chunker.take_pending()
            self._retry_ready = []
            self._finished = True
            if self._rejects:
                self._flush_rejects()
        if not self._final_reported:
            self._final_reported = True
            self._report()
        return self._unconfirmed

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def stopped_early(self) -> bool:
        return self._stopping

    @property
    def request_errors(self) -> list[BaseException]:
        return self._request_errors

    def error(
        self,
        failed: list[models.TaskAddResult],
        *,
        result: models.TaskAddCollectionResult | None = None,
    ) -> CreateTasksError:
        return CreateTasksError(
            failed=failed,
            unconfirmed=self._unconfirmed or [],
            request_errors=self._request_errors,
            added=self._added + self._existed,
            result=result,
        )


def _unconfirmed_result(item: UnconfirmedTask) -> models.TaskAddResult:
    return models.TaskAddResult(
        status=_SERVER_ERROR,
        task_id=item.task_id,
        error=_error(
            "TaskNotConfirmed",
            f"The outcome of adding task {item.task_id!r} is not known: {item.reason}.",
            {"Reason": item.reason, "Ambiguous": "true" if item.ambiguous else "false"},
        ),
    )


class TaskAddStream:
    """The per-task results of a bulk add, as each becomes final (``stream_add_collection``).

    Use it as an async context manager (recommended: requests keep flowing while your loop body
    runs, and leaving the block stops the run cleanly)::

        async with client.task.stream_add_collection(job_id, tasks) as stream:
            async for result in stream:
                ...

    or iterate it directly (``async for result in client.task.stream_add_collection(...)``).
    Direct iteration runs no background tasks between items: each time the buffered results
    are used up, the engine runs until a batch of results is ready and nothing is in flight,
    then hands them over. This keeps ``break`` safe on every backend at some cost in throughput
    (requests do not overlap your loop body); an input that stalls holds results back.

    Every yielded result is final. Tasks the run could not confirm (fatal error, deadline) are
    not yielded: when the stream ends with such tasks it raises
    :class:`~batch_tasks_async.errors.CreateTasksError` (with ``failed`` empty: failed results
    were yielded) unless ``raise_on_failure`` is false. After the stream ends, is closed or is
    cancelled, :attr:`unconfirmed` lists every task read whose outcome is unknown, each marked
    ``ambiguous`` when it may nevertheless have been added, and :attr:`pending_results` holds the
    final results that were ready but not yet yielded. Tasks the stream never read stay in your
    iterator.
    """

    def __init__(self, run: _BulkRun, *, raise_on_failure: bool) -> None:
        self._run = run
        self._raise = raise_on_failure
        self._mode: Literal["new", "background", "direct", "closed"] = "new"
        self._tg: anyio.abc.TaskGroup | None = None
        self._bg_scope: anyio.CancelScope | None = None
        self._engine_done = False
        self._raised = False

    # -- context manager ------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._mode != "new":
            raise RuntimeError("this stream was already started")
        self._mode = "background"
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

    async def _background(self) -> None:
        assert self._bg_scope is not None
        try:
            with self._bg_scope:
                await self._run.run_round(pause=False)
        finally:
            self._engine_done = True
            event = self._run._out_event
            if event is not None:
                self._run._out_event = None
                event.set()

    async def aclose(self) -> None:
        """Stop the run (outside ``async with``: forget it) and freeze :attr:`unconfirmed`."""
        if self._mode == "background":
            await self.__aexit__(None, None, None)
            return
        self._mode = "closed"
        self._run.finish()

    # -- iteration ------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> models.TaskAddResult:
        run = self._run
        out = run._out
        while True:
            if out:
                result = out.popleft()[1]
                if run._room_event is not None:
                    run._room()
                return result
            if self._mode == "new":
                self._mode = "direct"
            if self._mode == "closed":
                raise StopAsyncIteration
            if self._mode == "direct":
                if not run.finished and not self._engine_done:
                    self._engine_done = await run.run_round(pause=True)
                    continue
            elif not self._engine_done:
                event = run._out_event
                if event is None:
                    event = run._out_event = anyio.Event()
                await event.wait()
                continue
            # The engine is done and every result was handed over.
            unconfirmed = run.finish()
            if self._raise and unconfirmed and not self._raised:
                self._raised = True
                error = run.error([])
                cause = run.request_errors[0] if run.request_errors else None
                raise error from cause
            raise StopAsyncIteration

    # -- outcome --------------------------------------------------------------------------

    @property
    def progress(self) -> BulkProgress:
        """A snapshot of the run's counters."""
        return self._run.progress()

    @property
    def unconfirmed(self) -> list[UnconfirmedTask]:
        """Tasks read whose outcome is not known (complete once the stream has ended, been
        closed or been cancelled)."""
        return self._run.unconfirmed()

    @property
    def pending_results(self) -> list[models.TaskAddResult]:
        """Final results not yielded yet: after an early exit or a cancellation, the results
        the loop never saw. Yielded results, these and :attr:`unconfirmed` together account
        for every task read."""
        return [pair[1] for pair in self._run._out]

    @property
    def request_errors(self) -> list[BaseException]:
        """Request-level errors that stopped the run or exhausted their retries."""
        return list(self._run.request_errors)


def stream_tasks(
    send: ChunkSender,
    tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_tasks_per_request: int = MAX_TASKS_PER_REQUEST,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    retry_policy: BulkRetryPolicy | None = None,
    deadline: float | timedelta | None = None,
    if_exists: Literal["fail", "skip"] = "fail",
    on_progress: ProgressCallback | None = None,
    raise_on_failure: bool = True,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
) -> TaskAddStream:
    """Add tasks in bulk, yielding one :class:`~batch_tasks_async.models.TaskAddResult` per task
    as each becomes final. See :func:`add_tasks` for the options and :class:`TaskAddStream` for
    iteration, early exit and the outcome of unconfirmed tasks.

    Memory stays bounded by the concurrency window whatever the number of tasks.

    Raises:
        ClientValidationError: An option is invalid (raised here, before anything runs).
    """
    options = _options(
        concurrency=concurrency,
        max_tasks_per_request=max_tasks_per_request,
        max_request_bytes=max_request_bytes,
        retry_policy=retry_policy,
        deadline=deadline,
        if_exists=if_exists,
        on_progress=on_progress,
        progress_interval=progress_interval,
    )
    return TaskAddStream(
        _BulkRun(send, tasks, options, collect=False), raise_on_failure=raise_on_failure
    )


async def add_tasks(
    send: ChunkSender,
    tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_tasks_per_request: int = MAX_TASKS_PER_REQUEST,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    retry_policy: BulkRetryPolicy | None = None,
    deadline: float | timedelta | None = None,
    if_exists: Literal["fail", "skip"] = "fail",
    on_progress: ProgressCallback | None = None,
    raise_on_failure: bool = True,
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
) -> models.TaskAddCollectionResult:
    """Add any number of tasks through ``send``, many requests at a time, retrying safely.

    Args:
        send: Sends one add-collection request (see :class:`ChunkSender`).
        tasks: An iterable or async iterable of :class:`~batch_tasks_async.models.TaskAddParameter`
            or wire-format mappings (camelCase keys, a string ``"id"``), read lazily.
        concurrency: Most requests in flight. Lowered automatically while the service throttles
            and raised again when it stops (never above this value).
        max_tasks_per_request: Most tasks in one request (1 to 100).
        max_request_bytes: Largest request body in bytes (64 to 4 MiB; default 1 MiB, the
            service's documented limit). Lowered for later requests when the service answers
            413.
        retry_policy: Attempts and backoff (:class:`BulkRetryPolicy`).
        deadline: Seconds (or a timedelta) the whole run may take. When it expires the run is
            cancelled and every task not final is reported unconfirmed (``ambiguous`` when a
            request carrying it was in flight).
        if_exists: ``"fail"``: a task that already exists before it was first sent is a
            ``clienterror`` (``TaskExists``). ``"skip"``: it counts as a success (its result
            keeps the ``TaskExists`` error so it can be told apart), which makes re-running a
            pipeline with the same task ids safe.
        on_progress: Called with a :class:`BulkProgress` every ``progress_interval`` seconds
            and once at the end.
        raise_on_failure: Raise :class:`~batch_tasks_async.errors.CreateTasksError` when any
            task was not added (default). When false, return the result regardless.
        progress_interval: Seconds between progress reports.

    Returns:
        One result per input task, in input order. Tasks the run could not confirm (stopped
        by an error that dooms every request, by exhausted retries, or by the deadline) have
        a ``servererror`` result with code ``TaskNotConfirmed``; when the run stops early the
        rest of the input is read (not sent) so that every task is accounted for.

    Raises:
        CreateTasksError: Some task was not added (``raise_on_failure``). It carries the
            failed results, the unconfirmed tasks with reasons, the request errors, the number
            added, and the full ``result``.
        ClientValidationError: An option is invalid.

    If the caller is cancelled, the cancellation propagates; to learn the outcome of each task
    after a cancellation, use :func:`stream_tasks` (every result it yielded is final and
    ``stream.unconfirmed`` lists the rest).
    """
    options = _options(
        concurrency=concurrency,
        max_tasks_per_request=max_tasks_per_request,
        max_request_bytes=max_request_bytes,
        retry_policy=retry_policy,
        deadline=deadline,
        if_exists=if_exists,
        on_progress=on_progress,
        progress_interval=progress_interval,
    )
    run = _BulkRun(send, tasks, options, collect=True)
    try:
        await run.run_round(pause=False)
        extra = await run.drain_input() if run.stopped_early else None
        unconfirmed = run.finish(extra)
    finally:
        run.finish()
    collected = run._collected
    collected.sort(key=_first)
    results = [pair[1] for pair in collected]
    results.extend(_unconfirmed_result(item) for item in unconfirmed)
    collection = models.TaskAddCollectionResult(value=results)
    failed = [pair[1] for pair in collected if pair[1].status != _SUCCESS]
    if raise_on_failure and (unconfirmed or failed):
        error = run.error(failed, result=collection)
        cause = run.request_errors[0] if run.request_errors else None
        raise error from cause
    return collection


def _first(pair: tuple[int, models.TaskAddResult]) -> int:
    return pair[0]
