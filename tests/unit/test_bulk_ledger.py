"""The ledger, driven by hypothesis against a model service that commits or not and answers
with every kind of reply the bulk engine must survive. No I/O, no event loop.

After every step: each task read is in exactly one place; the counters agree with the places;
added => committed by this run; failed => not committed by this run; unconfirmed => ``ambiguous``
exactly when some attempt's outcome was hidden from the client; and at the end the report covers
every task read.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from batch_tasks_async import models
from batch_tasks_async._bulk._idset import id_key
from batch_tasks_async._bulk._ledger import Ledger, Place, Request, Task
from batch_tasks_async.errors import (
    BadRequestError,
    BatchConnectionError,
    BatchTimeoutError,
    NotFoundError,
    RequestBodyTooLargeError,
    ResponseDecodeError,
    ServerError,
    ThrottledError,
)

S = models.TaskAddStatus.SUCCESS
CE = models.TaskAddStatus.CLIENT_ERROR
SE = models.TaskAddStatus.SERVER_ERROR
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FINAL = {Place.ADDED, Place.EXISTED, Place.FAILED, Place.UNCONFIRMED}
POISON = "poison"


def entry(status: Any, task_id: str, code: str | None = None) -> models.TaskAddResult:
    error = models.BatchError(code=code) if code else None
    return models.TaskAddResult(status=status, task_id=task_id, error=error)


#: Reply kinds for a whole request: (name, commits?, hides the outcome from the client?).
REPLIES = [
    "normal",
    "per_task_server_error",
    "per_task_busy",
    "unknown_status",
    "left_out",
    "duplicate_entries",
    "garbled_2xx",
    "request_400",
    "request_500",
    "throttle_429",
    "busy_503",
    "timeout",
    "reset_before_commit",
    "reset_after_commit",
    "too_large_413",
]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(
            max_tasks=4,
            max_bytes=4096,
            max_attempts=3,
            max_throttled_attempts=4,
            skip_existing=False,
        )
        self.committed_by_run: set[str] = set()
        self.committed_seqs: set[int] = set()
        self.preexisting: set[str] = set()
        self.hidden: set[str] = set()  # keys some reply hid the outcome of
        self.flying: list[Request] = []
        self.ids: list[str] = []
        self.poison_seen = False

    # -- the model service ----------------------------------------------------------------

    def commit(self, task: Task) -> models.TaskAddResult:
        key = id_key(task.id)
        if key in self.committed_by_run or key in self.preexisting:
            return entry(CE, task.id, "TaskExists")
        self.committed_by_run.add(key)
        self.committed_seqs.add(task.seq)
        return entry(S, task.id, None)

    # -- rules ----------------------------------------------------------------------------

    @rule(
        name=st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "A", "ß", "SS", POISON]),
        number=st.integers(0, 6),
        preexisting=st.booleans(),
        kind=st.sampled_from(["dict", "model", "invalid", "nan", "snake"]),
    )
    def read(self, name: str, number: int, preexisting: bool, kind: str) -> None:
        task_id = f"{name}{number}" if name != POISON else POISON
        raw: object
        if kind == "model":
            raw = models.TaskAddParameter(id=task_id, command_line="x")
        elif kind == "invalid":
            raw = {"commandLine": "no id"}
        elif kind == "nan":
            raw = {"id": task_id, "commandLine": "x", "requiredSlots": float("nan")}
        elif kind == "snake":
            raw = {"id": task_id, "command_line": "x"}
        else:
            raw = {"id": task_id, "commandLine": "x"}
        if (
            preexisting
            and kind in ("dict", "model")
            and id_key(task_id) not in set(map(id_key, self.ids))
        ):
            self.preexisting.add(id_key(task_id))
        self.ids.append(task_id)
        self.ledger.ingest(raw)

    @rule()
    def flush(self) -> None:
        self.ledger.flush()

    @precondition(lambda self: self.ledger.has_ready)
    @rule()
    def send(self) -> None:
        request = self.ledger.take(NOW)
        if request is not None:
            self.flying.append(request)

    @precondition(lambda self: self.flying)
    @rule(
        data=st.data(),
        reply=st.sampled_from(REPLIES),
        commit_mask=st.integers(0, 15),
        retry_after=st.sampled_from([None, -5.0, 0.0, 1.0, 1e20, float("inf")]),
    )
    def answer(
        self, data: st.DataObject, reply: str, commit_mask: int, retry_after: float | None
    ) -> None:
        index = data.draw(st.integers(0, len(self.flying) - 1))
        request = self.flying.pop(index)
        tasks = list(request.tasks)
        ids = [task.id for task in tasks]
        if POISON in ids and reply not in ("throttle_429", "busy_503"):
            reply = "request_500_no_commit"
        after = _retry_after(retry_after)

        def commits(i: int) -> bool:
            return bool(commit_mask >> (i % 4) & 1)

        def hide(i: int) -> None:
            self.hidden.add(id_key(ids[i]))

        error: BaseException | None = None
        entries: list[models.TaskAddResult] = []
        if reply == "normal":
            entries = [self.commit(t) for t in tasks]
        elif reply == "per_task_server_error":
            for n, task_id in enumerate(ids):
                if commits(n):
                    self.commit(tasks[n])
                hide(n)
                entries.append(entry(SE, task_id, "InternalServerError"))
        elif reply == "per_task_busy":
            for n, task_id in enumerate(ids):
                entries.append(
                    self.commit(tasks[n]) if commits(n) else entry(SE, task_id, "ServerBusy")
                )
        elif reply == "unknown_status":
            for n, task_id in enumerate(ids):
                if commits(n):
                    self.commit(tasks[n])
                hide(n)
                entries.append(entry(models.TaskAddStatus("pending"), task_id))
        elif reply == "left_out":
            for n in range(len(ids)):
                result = self.commit(tasks[n]) if commits(n) else None
                if n % 2 and result is not None:
                    entries.append(result)
                else:
                    hide(n)
        elif reply == "duplicate_entries":
            for n, task_id in enumerate(ids):
                result = self.commit(tasks[n])
                if result.status is S:
                    entries += [entry(CE, task_id.upper(), "TaskExists"), result]
                else:
                    entries.append(result)
        elif reply == "garbled_2xx":
            for n in range(len(ids)):
                if commits(n):
                    self.commit(tasks[n])
                hide(n)
            error = ResponseDecodeError(200, reason="not JSON", body=b"<html>")
        elif reply == "request_400":
            error = BadRequestError(400, code="InvalidPropertyValue")
        elif reply in ("request_500", "request_500_no_commit"):
            for n in range(len(ids)):
                if reply == "request_500" and commits(n):
                    self.commit(tasks[n])
                hide(n)
            error = ServerError(500, code="InternalServerError", retry_after=after)
        elif reply == "throttle_429":
            error = ThrottledError(429, retry_after=after)
        elif reply == "busy_503":
            error = ServerError(503, code="ServerBusy", retry_after=after)
        elif reply in ("timeout", "reset_after_commit"):
            for n in range(len(ids)):
                if reply == "reset_after_commit" or commits(n):
                    self.commit(tasks[n])
                hide(n)
            if reply == "timeout":
                error = BatchTimeoutError("timed out", request_sent=True)
            else:
                error = BatchConnectionError("reset", request_sent=True)
        elif reply == "reset_before_commit":
            error = BatchConnectionError("refused", request_sent=False)
        elif reply == "too_large_413":
            error = RequestBodyTooLargeError(413, code="RequestBodyTooLarge")
        if error is None:
            self.ledger.answered(request, entries)
        else:
            self.ledger.failed(request, error)

    @precondition(lambda self: self.flying)
    @rule(roll=st.integers(0, 9))
    def job_not_found(self, roll: int) -> None:
        if roll:  # rare: a stop ends the interesting part of a run
            return
        request = self.flying.pop()
        self.ledger.failed(request, NotFoundError(404, code="JobNotFound"))

    @precondition(lambda self: self.ledger.waiting)
    @rule(data=st.data())
    def backoff_over(self, data: st.DataObject) -> None:
        number = data.draw(st.sampled_from(sorted(self.ledger.waiting)))
        self.ledger.requeue(number)

    @precondition(lambda self: self.ledger.waiting_tasks)
    @rule(data=st.data())
    def retry_wait_over(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(sorted(self.ledger.waiting_tasks)))
        self.ledger.release(token)

    @precondition(lambda self: self.ledger.verifying)
    @rule(data=st.data(), readable=st.booleans())
    def read_back(self, data: st.DataObject, readable: bool) -> None:
        seq = data.draw(st.sampled_from(sorted(self.ledger.verifying)))
        task = self.ledger.verifying[seq]
        truth = task.seq in self.committed_seqs
        self.ledger.verified(task, truth if readable else None)

    @rule(roll=st.integers(0, 9))
    def deadline(self, roll: int) -> None:
        if roll:
            return
        self.ledger.stop("deadline exceeded", None)
        for request in self.flying:
            self.hidden.update(task.key for task in request.tasks)
            self.ledger.abandon(request, "deadline exceeded")
        self.flying.clear()

    # -- invariants -----------------------------------------------------------------------

    def places(self) -> dict[int, Place]:
        ledger = self.ledger
        found: dict[int, Place] = {}
        live: list[Task] = list(ledger.live())
        for task in live:
            assert task.seq not in found, f"task #{task.seq} is in two places"
            assert task.place not in FINAL, f"live task #{task.seq} marked {task.place!r}"
            found[task.seq] = task.place
        for seq, result, _ in ledger.out:
            assert seq not in found, f"task #{seq} is final and elsewhere"
            found[seq] = Place.FAILED if result.status is not S else Place.ADDED
        for seq, _ in ledger.unconfirmed:
            assert seq not in found, f"task #{seq} is unconfirmed and elsewhere"
            found[seq] = Place.UNCONFIRMED
        return found

    @invariant()
    def each_task_in_exactly_one_place(self) -> None:
        found = self.places()
        assert set(found) == set(range(self.ledger.read))
        counts = self.ledger.counts
        assert sum(counts) == self.ledger.read
        live = Counter(task.place for task in self.ledger.live())
        for place in (Place.PACKED, Place.IN_FLIGHT, Place.WAITING, Place.VERIFYING):
            assert counts[place] == live[place], (place, counts, live)
        assert counts[Place.UNCONFIRMED] == len(self.ledger.unconfirmed)
        finals = Counter(result.status is S for _, result, _ in self.ledger.out)
        assert counts[Place.FAILED] == finals[False]
        assert counts[Place.ADDED] + counts[Place.EXISTED] == finals[True]

    @invariant()
    def outcomes_are_true(self) -> None:
        for seq, result, _ in self.ledger.out:
            code = result.error.code if result.error else None
            if result.status is S:
                assert seq in self.committed_seqs, f"{result.task_id} reported added"
            else:
                assert seq not in self.committed_seqs, (
                    f"{result.task_id} reported failed ({code}) but this run committed it"
                )
        for seq, item in self.ledger.unconfirmed:
            key = id_key(item.task_id)
            if seq in self.committed_seqs:
                assert item.ambiguous, f"{item.task_id} committed but not marked ambiguous"
            if item.ambiguous:
                assert key in self.hidden, f"{item.task_id} ambiguous though never hidden"

    def teardown(self) -> None:
        for request in self.flying:  # abandoned in flight: their outcome is hidden
            self.hidden.update(task.key for task in request.tasks)
        self.ledger.finish("run ended")
        self.flying.clear()
        self.each_task_in_exactly_one_place()
        self.outcomes_are_true()
        assert not any(True for _ in self.ledger.live())
        assert (
            self.ledger.counts[Place.UNCONFIRMED]
            + sum(self.ledger.counts[p] for p in (Place.ADDED, Place.EXISTED, Place.FAILED))
            == self.ledger.read
        )


def _retry_after(value: float | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return timedelta(seconds=value)
    except OverflowError:
        return timedelta.max


LedgerMachine.TestCase.settings = settings(max_examples=120, stateful_step_count=40, deadline=None)
test_ledger_state_machine = LedgerMachine.TestCase
