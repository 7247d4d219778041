"""The ledger: where every task of a bulk add is, and every move it makes. No I/O.

Every task read from the input is in exactly one place:

========================  =====================================================================
``PACKED``                valid and waiting to be sent: in the packer, a packed request, or a
                          request ready to be sent again (after a backoff, a split or a bisect)
``IN_FLIGHT``             in request R, sent, no answer yet
``WAITING``               waiting out a backoff, with its request or alone (per-task retry)
``VERIFYING``             answered ``TaskExists`` after an ambiguous attempt: being read back
``ADDED``                 final: the service holds it because of this run
``EXISTED``               final: it existed before the run (``if_exists="skip"``)
``FAILED``                final: refused; the service does not hold it because of this run
``UNCONFIRMED``           final: the outcome is not known; ``ambiguous`` when it may be held
========================  =====================================================================

The driver (``_run``) feeds the ledger events -- an item read, a request taken to send, an
answer with its entries, a request failed with an error, a verification, a stop, an abandoned
request -- and the ledger applies the rules of ``_decide`` to move tasks. The counters, the
progress snapshot and the final report are derived from the places, so they cannot disagree.
"""

from __future__ import annotations

import enum
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Final

import attrs

from .. import models
from .._serialization import dumps
from ..errors import ServiceError, UnconfirmedTask
from ._chunker import ENVELOPE_BYTES, Chunker, build_body
from ._decide import Entry, Next, RequestVerdict, is_throttling, judge_entries, judge_request
from ._idset import IdSet, id_key
from ._ingest import SNAKE_CASE_KEYS, Rejected, prepare
from ._options import MIN_REQUEST_BYTES
from ._outcomes import client_error, too_large
from ._progress import BulkProgress

__all__ = ["GIVE_UP_FUSE", "Answer", "Ledger", "Outcome", "Place", "Request", "Task"]

_SUCCESS: Final = models.TaskAddStatus.SUCCESS
_CLIENT_ERROR: Final = models.TaskAddStatus.CLIENT_ERROR

#: Tasks given up one by one (their lone request kept failing) with no request answered since,
#: after which the service is taken to be failing every request and the run stops.
GIVE_UP_FUSE: Final = 3


class Place(enum.IntEnum):
    """Where a task is (see the module docstring)."""

    PACKED = 0
    IN_FLIGHT = 1
    WAITING = 2
    VERIFYING = 3
    ADDED = 4
    EXISTED = 5
    FAILED = 6
    UNCONFIRMED = 7


# The places as plain module constants: the hot paths read them once per task, and a lookup
# on the enum class costs several times a global's.
_PACKED: Final = Place.PACKED
_IN_FLIGHT: Final = Place.IN_FLIGHT
_ADDED: Final = Place.ADDED
_TASK_MODEL: Final = models.TaskAddParameter
_SNAKE: Final = frozenset(SNAKE_CASE_KEYS)


class Task:
    """One valid input task on its way."""

    __slots__ = (
        "ambiguous",
        "attempts",
        "body",
        "first_sent",
        "id",
        "key",
        "last",
        "place",
        "seq",
        "source",
    )

    def __init__(self, task_id: str, key: str, body: bytes, seq: int, source: object) -> None:
        self.id = task_id
        self.key = key  # the service's comparison key (``id_key``), to match its answers
        self.body = body  # JSON, serialized once
        self.seq = seq  # position in the input
        self.source = source  # the task as the caller gave it
        self.place = _PACKED
        self.attempts = 0  # answers that did not settle it (per-task retry budget)
        self.ambiguous = False  # some attempt may have committed it
        self.first_sent: datetime | None = None  # client clock when first sent
        # `last` (the last entry that did not settle it) is set before it is ever read.
        self.last: models.TaskAddResult | None


class Request:
    """An add-collection request: its tasks, body and client-request-id are fixed across its
    resends; a split or bisect makes new requests."""

    __slots__ = (
        "body",
        "budget",
        "client_request_id",
        "epoch",
        "failures",
        "number",
        "sends",
        "tasks",
    )

    def __init__(self, number: int, tasks: list[Task], budget: int) -> None:
        self.number = number
        self.tasks = tasks
        self.budget = budget  # failed attempts allowed before it is bisected or given up
        self.body: bytes | None = None
        self.client_request_id: str | None = None
        self.sends = 0
        self.failures = 0
        self.epoch = 0  # the driver's throttling generation when last sent


#: A final result: ``(input position, result, the task as given)``.
Outcome = tuple[int, models.TaskAddResult, object]


@attrs.define
class Answer:
    """What the driver must do after an answer: wait and release ``retry``, read back
    ``verify``; and how much of the answer was throttling."""

    throttled: int = 0
    retry: int | None = None
    retry_attempts: int = 0
    verify: list[Task] = attrs.field(factory=list)


class Ledger:
    """The one owner of every task's place and of every transition (see the module docstring).

    Args:
        max_tasks: Most tasks in one request.
        max_bytes: Largest request body.
        max_attempts: Per-task budget (answers that do not settle a task).
        max_throttled_attempts: Budget of throttled sends of one request.
        skip_existing: ``if_exists="skip"``.
        keep_successes: Keep a final result per success (``False``: counts only).
        size_hint: Expected number of tasks (presizes the duplicate-id index).
    """

    def __init__(
        self,
        *,
        max_tasks: int,
        max_bytes: int,
        max_attempts: int,
        max_throttled_attempts: int,
        skip_existing: bool,
        keep_successes: bool = True,
        size_hint: int = 0,
    ) -> None:
        self.chunker: Chunker[Task] = Chunker(max_tasks, max_bytes)
        self._ids = IdSet(size_hint)
        self._max_attempts = max_attempts
        self._max_throttled = max_throttled_attempts
        self._skip = skip_existing
        self._keep = keep_successes
        self._numbers = 0
        self._tokens = 0
        self.resend: deque[Request] = deque()
        self.in_flight: dict[int, Request] = {}
        self.waiting: dict[int, Request] = {}
        self.waiting_tasks: dict[int, list[Task]] = {}
        self.verifying: dict[int, Task] = {}
        #: Final results not yet handed over (successes only when ``keep_successes``).
        self.out: list[Outcome] = []
        #: Unconfirmed tasks, by input position.
        self.unconfirmed: list[tuple[int, UnconfirmedTask]] = []
        #: Errors that stopped the run or made a task be given up.
        self.errors: list[BaseException] = []
        self.counts = [0] * len(Place)
        self.read = 0
        self.requests_sent = 0
        self.retried = 0
        self.throttled = 0
        self.stopping = False
        self.stop_reason: str | None = None
        self._give_ups = 0

    # -- input -----------------------------------------------------------------------------

    def ingest(self, raw: object) -> None:
        """One item read from the input: pack it, or make it final (invalid, duplicate, too
        large). Never more than this item is touched."""
        seq = self.read
        self.read = seq + 1
        # The exact types, valid, take the fast path; anything else goes through `prepare`,
        # which applies the same checks and says what is wrong.
        cls = type(raw)
        task_id: object = None
        body: bytes | None = None
        if cls is dict:
            if _SNAKE.isdisjoint(raw):  # type: ignore[arg-type]
                task_id = raw.get("id")  # type: ignore[attr-defined]
                if type(task_id) is str and task_id:
                    try:
                        body = dumps(raw)
                    except (TypeError, ValueError):
                        body = None
        elif cls is _TASK_MODEL:
            task_id = raw.id  # type: ignore[attr-defined]
            if type(task_id) is str and task_id:
                try:
                    body = dumps(raw)
                except (TypeError, ValueError):
                    body = None
        if body is None or b"null" in body:  # off the fast path, or NaN written as null
            prepared = prepare(raw, seq)
            if type(prepared) is Rejected:
                self._reject(seq, prepared.result, raw)
                return
            task_id, body = prepared  # type: ignore[misc]
        valid_id: str = task_id  # type: ignore[assignment]  # a non-empty str by now
        # An ASCII id's upper case is its key; `id_key` handles the rest (ß stays ß).
        key = valid_id.upper() if valid_id.isascii() else id_key(valid_id)
        if not self._ids.add_hash(hash(key)):
            self._reject(
                seq,
                client_error(
                    valid_id,
                    "DuplicateTaskId",
                    f"Task id {valid_id!r} appears more than once in the input (ids are compared "
                    "ignoring case, character by character); only its first occurrence is "
                    "submitted.",
                    {"TaskId": valid_id},
                ),
                raw,
            )
            return
        size = len(body)
        task = Task(valid_id, key, body, seq, raw)
        if self.stopping:  # read while the run stopped (an async read in progress): never sent
            self.counts[0] += 1
            self._unconfirm(task, self.stop_reason or "run stopped")
            return
        if not self.chunker.add(task, size):
            self._reject(
                seq,
                too_large(
                    valid_id, size + ENVELOPE_BYTES, self.chunker.hard_max_bytes, by_service=False
                ),
                raw,
            )
            return
        self.counts[0] += 1  # PACKED

    def _reject(self, seq: int, result: models.TaskAddResult, raw: object) -> None:
        self.counts[Place.FAILED] += 1
        self.out.append((seq, result, raw))

    def flush(self) -> None:
        """Pack the partial request (the input ended, or stalled)."""
        self.chunker.flush()

    # -- sending ---------------------------------------------------------------------------

    @property
    def has_ready(self) -> bool:
        """Whether a request is ready to be taken."""
        return bool(self.resend or self.chunker.ready)

    @property
    def backlog(self) -> int:
        """Tasks read and not final, not in flight: what the reader has read ahead."""
        return self.counts[Place.PACKED] + self.counts[Place.WAITING]

    @property
    def outstanding(self) -> int:
        """Requests in flight, waiting out a backoff, and tasks being verified or waiting."""
        return (
            len(self.in_flight) + len(self.waiting) + len(self.waiting_tasks) + len(self.verifying)
        )

    def take(self, now: datetime) -> Request | None:
        """The next request to send (resends first), its tasks moved to ``IN_FLIGHT``."""
        if self.stopping:
            return None
        if self.resend:
            request = self.resend.popleft()
        elif self.chunker.ready:
            items = self.chunker.ready.popleft()
            chunker = self.chunker
            if chunker.max_bytes < chunker.hard_max_bytes and len(items) > 1:
                # The limit was lowered (413) after this was packed: fit it to the new limit.
                pieces = self._repack(items)
                items = pieces[0]
                chunker.ready.extendleft(reversed(pieces[1:]))
            request = self._request(items)
        else:
            return None
        tasks = request.tasks
        if request.body is None:
            request.body = build_body([task.body for task in tasks])
        if request.client_request_id is None:
            request.client_request_id = str(uuid.uuid4())
        request.sends += 1
        retried = 0
        in_flight = _IN_FLIGHT
        for task in tasks:
            task.place = in_flight
            if task.first_sent is None:
                task.first_sent = now
            else:
                retried += 1
        n = len(tasks)
        self.retried += retried
        self.counts[Place.PACKED] -= n
        self.counts[Place.IN_FLIGHT] += n
        self.requests_sent += 1
        self.in_flight[request.number] = request
        return request

    def _request(self, tasks: list[Task], *, bisected: bool = False) -> Request:
        self._numbers += 1
        # A half of a request that ran out of budget gets one attempt before it is halved
        # again, so bisection reaches the task that causes the failures in a few sends; a
        # single task gets the whole budget.
        budget = 1 if bisected and len(tasks) > 1 else self._max_attempts
        return Request(self._numbers, tasks, budget)

    def _repack(self, items: list[Task]) -> list[list[Task]]:
        chunker = self.chunker
        packer: Chunker[Task] = Chunker(chunker.max_tasks, chunker.hard_max_bytes)
        packer.max_bytes = chunker.max_bytes
        for task in items:
            packer.add(task, len(task.body))
        packer.flush()
        return list(packer.ready)

    def _move(self, tasks: list[Task], place: Place) -> None:
        counts = self.counts
        for task in tasks:
            counts[task.place] -= 1
            task.place = place
        counts[place] += len(tasks)

    # -- answers ---------------------------------------------------------------------------

    def answered(self, request: Request, entries: list[models.TaskAddResult]) -> Answer:
        """Request R was answered with these entries (in any order, any case, repeated,
        incomplete, with unknown statuses): settle each of its tasks."""
        del self.in_flight[request.number]
        self._give_ups = 0
        tasks = request.tasks
        request.tasks = []
        others: dict[str, list[models.TaskAddResult]] = {}
        counts = self.counts
        out = self.out
        keep = self._keep
        done = _ADDED
        added = 0
        # The service answers in the order it was sent, as a rule: entry i is task i's when
        # their ids are equal (a request's keys are unique); else its key finds its task.
        count = len(tasks)
        by_key: dict[str, Task] | None = None
        for index, entry in enumerate(entries):
            task_id = entry.task_id
            task: Task | None
            if index < count and tasks[index].id == task_id:
                task = tasks[index]
                key = task.key
            else:
                if type(task_id) is not str:
                    continue
                key = task_id.upper() if task_id.isascii() else id_key(task_id)
                if by_key is None:
                    by_key = {task.key: task for task in tasks}
                task = by_key.get(key)
            if task is None or task.place is done:
                continue  # not one of ours, or settled: a success wins over the rest
            if entry.status is _SUCCESS:
                task.place = done
                added += 1
                if keep:
                    out.append((task.seq, entry, task.source))
            else:
                group = others.get(key)
                if group is None:
                    others[key] = [entry]
                else:
                    group.append(entry)
        answer = Answer()
        retry: list[Task] = []
        for task in tasks if added < len(tasks) else ():
            if task.place is done:
                continue
            group = others.get(task.key)
            verdict, settled, ambiguous, refused = judge_entries(
                group or (), ambiguous=task.ambiguous, skip_existing=self._skip
            )
            task.ambiguous = ambiguous
            assert verdict is not Entry.ADDED  # successes were settled above
            if verdict is Entry.EXISTS:
                assert settled is not None
                self._final(task, Place.EXISTED, attrs.evolve(settled, status=_SUCCESS))
            elif verdict is Entry.FAILED:
                assert settled is not None
                self._final(task, Place.FAILED, settled)
            elif verdict is Entry.VERIFY:
                counts[Place.IN_FLIGHT] -= 1
                counts[Place.VERIFYING] += 1
                task.place = Place.VERIFYING
                self.verifying[task.seq] = task
                answer.verify.append(task)
            else:  # RETRY: still IN_FLIGHT until it moves on
                if refused:
                    answer.throttled += 1
                task.attempts += 1
                task.last = settled
                if self.stopping:
                    self._unconfirm(task, self.stop_reason or "run stopped")
                elif task.attempts >= self._max_attempts:
                    self._give_up_task(task)
                else:
                    retry.append(task)
        counts[Place.IN_FLIGHT] -= added
        counts[Place.ADDED] += added
        if answer.throttled:
            self.throttled += 1
        if retry:
            self._move(retry, Place.WAITING)
            self._tokens += 1
            self.waiting_tasks[self._tokens] = retry
            answer.retry = self._tokens
            answer.retry_attempts = max(task.attempts for task in retry)
        return answer

    def _give_up_task(self, task: Task) -> None:
        """A task out of per-task budget: unconfirmed when it may have been committed,
        else failed with the service's last entry (a refusal such as ``ServerBusy``)."""
        last = task.last
        if task.ambiguous or last is None:
            self._unconfirm(
                task,
                f"no answer settled it in {task.attempts} attempts"
                + (f" (last: {last.error.code})" if last and last.error else ""),
            )
        else:
            self._final(task, Place.FAILED, last)

    def _final(self, task: Task, place: Place, result: models.TaskAddResult) -> None:
        if place is Place.FAILED and task.ambiguous:
            # A refusal now says nothing of an earlier attempt whose outcome is unknown.
            code = result.error.code if result.error is not None else result.status
            self._unconfirm(task, f"refused ({code}) after an attempt whose outcome is unknown")
            return
        counts = self.counts
        counts[task.place] -= 1
        counts[place] += 1
        task.place = place
        if place is Place.FAILED or self._keep:
            self.out.append((task.seq, result, task.source))

    def _unconfirm(self, task: Task, reason: str, *, ambiguous: bool | None = None) -> None:
        counts = self.counts
        counts[task.place] -= 1
        counts[Place.UNCONFIRMED] += 1
        task.place = Place.UNCONFIRMED
        if ambiguous:
            task.ambiguous = True
        self.unconfirmed.append(
            (task.seq, UnconfirmedTask(task.id, reason, ambiguous=task.ambiguous, task=task.source))
        )

    def release(self, token: int) -> None:
        """Per-task retries done waiting: pack them again (with fresh tasks)."""
        tasks = self.waiting_tasks.pop(token, None)
        if tasks is None:
            return  # the run stopped meanwhile: they are unconfirmed already
        if self.stopping:
            for task in tasks:
                self._unconfirm(task, self.stop_reason or "run stopped")
            return
        self._move(tasks, Place.PACKED)
        for task in tasks:
            self.chunker.add(task, len(task.body))

    # -- failures --------------------------------------------------------------------------

    def failed(self, request: Request, error: BaseException) -> RequestVerdict:
        """Request R failed as a whole with ``error``: resend, split, bisect, fail or give up
        its task, or stop the run. Returns the verdict (the driver waits before a resend and
        then calls `requeue`)."""
        del self.in_flight[request.number]
        tasks = request.tasks
        throttling = is_throttling(error)
        if throttling:
            throttles = request.sends - request.failures
            failures = request.failures
        else:
            request.failures += 1
            failures = request.failures
            throttles = request.sends - failures
        verdict = judge_request(
            error,
            size=len(tasks),
            failures=failures,
            throttles=throttles,
            max_attempts=request.budget,
            max_throttled_attempts=self._max_throttled,
        )
        if verdict.ambiguous:
            for task in tasks:
                task.ambiguous = True
        if verdict.throttled:
            self.throttled += 1
        step = verdict.next
        if step is Next.STOP:
            reason = f"run stopped: {error}"
            self.stop(reason, error)
            for task in tasks:
                self._unconfirm(task, reason)
            return verdict
        if self.stopping:
            for task in tasks:
                self._unconfirm(task, self.stop_reason or "run stopped")
            return verdict
        if step is Next.RESEND:
            self._move(tasks, Place.WAITING)
            self.waiting[request.number] = request
        elif step is Next.SPLIT:
            size = len(request.body or b"")
            chunker = self.chunker
            chunker.max_bytes = max(MIN_REQUEST_BYTES, min(chunker.max_bytes, size // 2))
            pieces = self._repack(tasks)
            if len(pieces) == 1:  # the learned limit is at its floor: halve by count
                middle = len(tasks) // 2
                pieces = [tasks[:middle], tasks[middle:]]
            self._move(tasks, Place.PACKED)
            self.resend.extend(self._request(piece) for piece in pieces)
        elif step is Next.BISECT:
            # Depth first (the halves go to the front), so a failing service is found out, and
            # a poison task isolated, after a few sends.
            middle = len(tasks) // 2
            self._move(tasks, Place.PACKED)
            self.resend.appendleft(self._request(tasks[middle:], bisected=True))
            self.resend.appendleft(self._request(tasks[:middle], bisected=True))
        elif step is Next.FAIL_TASK:
            [task] = tasks
            assert isinstance(error, ServiceError)
            if error.status_code == 413:
                result = too_large(
                    task.id,
                    len(request.body or b""),
                    self.chunker.hard_max_bytes,
                    by_service=True,
                )
            else:
                result = models.TaskAddResult(
                    status=_CLIENT_ERROR,
                    task_id=task.id,
                    error=models.BatchError(
                        code=error.code or "InvalidRequest",
                        message=models.ErrorMessage(lang="en-US", value=error.message),
                        values=[
                            models.BatchErrorDetail(key=k, value=v) for k, v in error.values.items()
                        ]
                        or None,
                    ),
                )
            self._final(task, Place.FAILED, result)
        else:  # GIVE_UP: one task whose lone request keeps failing
            [task] = tasks
            self.errors.append(error)
            self._unconfirm(task, f"gave up after {request.sends} attempts: {error}")
            self._give_ups += 1
            if self._give_ups >= GIVE_UP_FUSE:
                self.stop(f"run stopped: every request failed: {error}", None)
        return verdict

    def requeue(self, number: int) -> None:
        """Request R done waiting out its backoff: ready to be sent again (same body, same
        client-request-id)."""
        request = self.waiting.pop(number, None)
        if request is None:
            return  # the run stopped meanwhile: its tasks are unconfirmed already
        if self.stopping:
            for task in request.tasks:
                self._unconfirm(task, self.stop_reason or "run stopped")
            return
        self._move(request.tasks, Place.PACKED)
        self.resend.appendleft(request)  # before the halves of a bisect: finish it first

    # -- verification ----------------------------------------------------------------------

    def verified(self, task: Task, created_here: bool | None) -> None:
        """The read-back of a ``TaskExists`` task: ``True`` (this run created it), ``False``
        (it existed before: a genuine duplicate), ``None`` (it could not be read)."""
        del self.verifying[task.seq]
        if created_here is None:
            # Not known yet: send it again (the answer will be TaskExists, read back again),
            # within its budget.
            task.attempts += 1
            if self.stopping or task.attempts >= self._max_attempts:
                self._unconfirm(
                    task, "TaskExists after an ambiguous attempt; reading it back failed"
                )
            else:
                self.counts[Place.VERIFYING] -= 1
                self.counts[_PACKED] += 1
                task.place = _PACKED
                self.chunker.add(task, len(task.body))
        elif created_here:
            self._final(task, Place.ADDED, models.TaskAddResult(status=_SUCCESS, task_id=task.id))
        else:
            task.ambiguous = False  # read back: this run did not create it
            exists = client_error(
                task.id,
                "TaskExists",
                f"Task {task.id!r} already existed before this run sent it (read back after "
                "an ambiguous attempt).",
            )
            if self._skip:
                self._final(task, Place.EXISTED, attrs.evolve(exists, status=_SUCCESS))
            else:
                self._final(task, Place.FAILED, exists)

    # -- stopping --------------------------------------------------------------------------

    def stop(self, reason: str, error: BaseException | None) -> None:
        """Stop the run: nothing more is taken; every task not in flight nor being verified
        becomes unconfirmed now (those end unconfirmed or final when their answer comes)."""
        if error is not None:
            self.errors.append(error)
        if self.stopping:
            return
        self.stopping = True
        self.stop_reason = reason
        pending: list[Task] = []
        for items in self.chunker.ready:
            pending.extend(items)
        self.chunker.ready.clear()
        pending.extend(self.chunker.take_pending())
        for request in self.resend:
            pending.extend(request.tasks)
        self.resend.clear()
        for request in self.waiting.values():
            pending.extend(request.tasks)
        self.waiting.clear()
        for tasks in self.waiting_tasks.values():
            pending.extend(tasks)
        self.waiting_tasks.clear()
        pending.sort(key=_by_seq)
        for task in pending:
            self._unconfirm(task, reason)

    def abandon(self, request: Request, reason: str) -> None:
        """Request R was cut off in flight (deadline, cancellation): its tasks may have been
        committed."""
        if self.in_flight.pop(request.number, None) is None:
            return
        for task in request.tasks:
            self._unconfirm(task, reason, ambiguous=True)

    def abandon_verify(self, task: Task, reason: str) -> None:
        """A read-back was cut off (deadline, cancellation)."""
        if self.verifying.pop(task.seq, None) is not None:
            self._unconfirm(task, reason, ambiguous=True)

    def finish(self, reason: str) -> None:
        """End of the run: everything not final becomes unconfirmed. Idempotent."""
        self.stop(reason, None)
        for request in list(self.in_flight.values()):
            self.abandon(request, self.stop_reason or reason)
        for task in list(self.verifying.values()):
            self.abandon_verify(task, self.stop_reason or reason)

    # -- reports ---------------------------------------------------------------------------

    def progress(self, *, elapsed: float, concurrency_limit: int, done: bool) -> BulkProgress:
        """A snapshot of the counters, derived from the places."""
        counts = self.counts
        return BulkProgress(
            tasks_read=self.read,
            added=counts[Place.ADDED],
            already_existed=counts[Place.EXISTED],
            failed=counts[Place.FAILED],
            retried=self.retried,
            in_flight=counts[Place.IN_FLIGHT],
            requests_sent=self.requests_sent,
            requests_in_flight=len(self.in_flight),
            throttled=self.throttled,
            concurrency_limit=concurrency_limit,
            unconfirmed=counts[Place.UNCONFIRMED],
            elapsed=elapsed,
            done=done,
        )

    def live(self) -> Iterator[Task]:
        """Every task not final, each once (for checks and tests)."""
        for items in self.chunker.ready:
            yield from items
        yield from self.chunker.pending
        for request in self.resend:
            yield from request.tasks
        for request in self.in_flight.values():
            yield from request.tasks
        for request in self.waiting.values():
            yield from request.tasks
        for tasks in self.waiting_tasks.values():
            yield from tasks
        yield from self.verifying.values()


def _by_seq(task: Task) -> int:
    return task.seq
