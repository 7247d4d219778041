"""The wait ledger against a model of a job whose tasks complete in any order, at any time.

The model is a service with a clock (whole seconds, so many transitions tie), tasks that
complete with a ``stateTransitionTime`` up to ``LAG`` seconds before they show in listings,
failed tasks that are reactivated and complete again, task counts that may be stale, listings
in any order and page size, and a service that may ignore the time filter. The ledger must never
count or yield a completion twice, never yield one that did not happen, and when it says done,
have seen every task's final outcome; and it must always get there once the tasks are done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from batch_tasks_async import CompletedTask, models
from batch_tasks_async._wait_ledger import WaitAction, WaitLedger, completed_task
from batch_tasks_async.errors import ClientValidationError

BASE = datetime(2026, 1, 1, tzinfo=UTC)
LAG = 3  # seconds a completion may take to become visible (the ledger's lag_tolerance)


def at(tick: int) -> datetime:
    return BASE + timedelta(seconds=tick)


@attrs.define
class View:
    """What the service shows of a task."""

    completed: bool = False
    stt: int = 0
    failed: bool = False


@attrs.define
class ModelTask:
    task_id: str
    shown: View = attrs.field(factory=View)
    #: A change the service made but does not show yet: (visible from tick, new view).
    coming: tuple[int, View] | None = None
    reactivated_at: int = 0
    completions: list[tuple[int, bool]] = attrs.field(factory=list)

    def view(self, now: int) -> View:
        if self.coming is not None and now >= self.coming[0]:
            self.shown, self.coming = self.coming[1], None
        return self.shown

    def busy(self, now: int) -> bool:
        return self.coming is not None and now < self.coming[0]


class JobModel(RuleBasedStateMachine):
    """A job's tasks, the service's clock, and a wait ledger driven against them."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.tasks: list[ModelTask] = []
        self.ledger = WaitLedger()
        self.unknown: list[str] = []
        self.waited: set[str] | None = None
        self.yielded: dict[str, list[tuple[datetime, bool]]] = {}
        self.last_counts: models.TaskCounts | None = None
        self.done_checked = False
        self.seen_done: dict[str, int] = {}

    @initialize(
        n=st.integers(min_value=0, max_value=12),
        mode=st.sampled_from(["all", "ids", "ids+unknown"]),
        data=st.data(),
    )
    def setup(self, n: int, mode: str, data: st.DataObject) -> None:
        self.tasks = [ModelTask(f"Task-{i}") for i in range(n)]
        if mode == "all":
            self.ledger = WaitLedger(lag_tolerance=LAG, list_every=3)
            return
        chosen = data.draw(st.lists(st.sampled_from(self.tasks), unique_by=id)) if n else []
        self.unknown = ["ghost-1", "Ghost-2"] if mode == "ids+unknown" else []
        given_ids = [t.task_id.lower() for t in chosen] + self.unknown
        self.waited = {t.task_id for t in chosen}
        self.ledger = WaitLedger(given_ids, lag_tolerance=LAG, list_every=3)

    # -- the service -------------------------------------------------------------------------

    def counts(self) -> models.TaskCounts:
        views = [t.view(self.now) for t in self.tasks]
        done = [v for v in views if v.completed]
        return models.TaskCounts(
            active=len(views) - len(done),
            running=0,
            completed=len(done),
            succeeded=sum(not v.failed for v in done),
            failed=sum(v.failed for v in done),
        )

    @rule(seconds=st.integers(min_value=0, max_value=LAG + 1))
    def advance(self, seconds: int) -> None:
        self.now += seconds

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        ready = [t for t in self.tasks if not t.busy(self.now) and not t.view(self.now).completed]
        if not ready:
            return
        self.finish(data.draw(st.sampled_from(ready)), data)

    def finish(self, task: ModelTask, data: st.DataObject) -> None:
        back = data.draw(st.integers(min_value=0, max_value=LAG), label="back")
        delay = data.draw(st.integers(min_value=0, max_value=LAG - back), label="delay")
        failed = data.draw(st.booleans(), label="failed")
        stt = max(self.now - back, task.reactivated_at, 0)
        task.coming = (self.now + delay, View(completed=True, stt=stt, failed=failed))
        task.completions.append((stt, failed))

    @rule(data=st.data())
    def reactivate(self, data: st.DataObject) -> None:
        failed = [
            t
            for t in self.tasks
            if not t.busy(self.now)
            and t.view(self.now).completed
            and t.view(self.now).failed
            and self.now > t.view(self.now).stt
        ]
        if failed:
            task = data.draw(st.sampled_from(failed))
            task.shown = View(completed=False, stt=self.now)
            task.reactivated_at = self.now

    # -- the ledger's actions, carried out against the service ---------------------------------

    def listing(self, data: st.DataObject | None) -> list[list[CompletedTask]]:
        since = self.ledger.since
        ignore_filter = data.draw(st.booleans(), label="ignore filter") if data else False
        rows = []
        for task in self.tasks:
            view = task.view(self.now)
            if not view.completed or (
                not ignore_filter and since is not None and at(view.stt) < since
            ):
                continue
            rows.append(
                CompletedTask(
                    task_id=task.task_id,
                    succeeded=not view.failed,
                    exit_code=1 if view.failed else 0,
                    state_transition_time=at(view.stt),
                )
            )
        if data is not None:
            rows = data.draw(st.permutations(rows), label="order")
            size = data.draw(st.integers(min_value=1, max_value=4), label="page size")
        else:
            size = 1000
        return [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]

    def carry_out(self, data: st.DataObject | None) -> None:
        action = self.ledger.next_action()
        if action is WaitAction.FETCH_COUNTS:
            stale = data is not None and self.last_counts is not None and data.draw(st.booleans())
            counts = self.last_counts if stale and self.last_counts else self.counts()
            self.last_counts = counts
            self.ledger.counts_received(counts)
        elif action is WaitAction.LIST_COMPLETED:
            for page in self.listing(data):
                for event in self.ledger.page_received(page):
                    key = event.task_id
                    self.yielded.setdefault(key, []).append(
                        (event.state_transition_time, event.succeeded)
                    )
            self.ledger.listing_finished()
        elif action is WaitAction.CHECK_INCOMPLETE:
            found = any(not t.view(self.now).completed for t in self.tasks)
            if not found:  # the moment the job was seen done (a task may be reactivated later)
                self.seen_done = {t.task_id: t.view(self.now).stt for t in self.tasks}
            self.ledger.incomplete_checked(found)
        elif action is WaitAction.SLEEP:
            self.ledger.slept()
        if self.ledger.next_action() is WaitAction.DONE and not self.done_checked:
            self.done_checked = True
            self.check_done()

    @precondition(lambda self: self.ledger.next_action() is not WaitAction.DONE)
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        self.carry_out(data)

    # -- what must hold ------------------------------------------------------------------------

    def waited_tasks(self) -> list[ModelTask]:
        if self.waited is None:
            return self.tasks
        return [t for t in self.tasks if t.task_id in self.waited]

    @invariant()
    def nothing_twice_nothing_invented(self) -> None:
        waited = {t.task_id: t for t in self.waited_tasks()}
        for task_id, events in self.yielded.items():
            assert task_id in waited, f"{task_id} was not waited on"
            real = {(at(stt), not failed) for stt, failed in waited[task_id].completions}
            assert len(set(events)) == len(events), f"{task_id} yielded twice: {events}"
            assert set(events) <= real
            # Only a failure can be followed by another completion (after reactivation).
            assert all(not ok for _, ok in events[:-1])
        latest = [events[-1] for events in self.yielded.values()]
        assert self.ledger.succeeded == sum(ok for _, ok in latest)
        assert self.ledger.failed == sum(not ok for _, ok in latest)
        summary = self.ledger.summary()
        assert summary.completed == self.ledger.succeeded + self.ledger.failed
        assert {f.task_id for f in summary.failures} == {
            task_id for task_id, events in self.yielded.items() if not events[-1][1]
        }

    def check_done(self) -> None:
        summary = self.ledger.summary()
        assert summary.done
        for task in self.waited_tasks():
            if self.waited is not None and not self.unknown:
                # Done as soon as every given task was seen: each was seen with its outcome.
                assert task.task_id in self.yielded, f"{task.task_id} was never seen"
                continue
            # Every task was completed when the job was seen done; the wait then reports that
            # completion or a later one (of a task reactivated in between).
            assert task.task_id in self.seen_done, f"done while {task.task_id} was incomplete"
            outcomes = {
                (at(stt), not failed)
                for stt, failed in task.completions
                if stt >= self.seen_done[task.task_id]
            }
            last = self.yielded.get(task.task_id, [None])[-1]
            assert last in outcomes, f"{task.task_id}'s last outcome was missed"
        assert summary.missing == tuple(sorted(self.unknown))
        assert summary.total == len(self.waited_tasks()) + len(self.unknown)

    def teardown(self) -> None:
        # Liveness: once every task is done and visible, the wait finishes within a few polls.
        for task in self.tasks:
            task.view(self.now)
            if task.coming is None and not task.shown.completed:
                task.coming = (self.now, View(completed=True, stt=self.now, failed=False))
                task.completions.append((self.now, False))
        self.now += LAG + 1
        for _ in range(40):
            if self.ledger.next_action() is WaitAction.DONE:
                break
            self.carry_out(None)
            self.now += 1
        assert self.ledger.next_action() is WaitAction.DONE
        if not self.done_checked:
            self.check_done()
        self.nothing_twice_nothing_invented()


TestJobModel = JobModel.TestCase
TestJobModel.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- plain examples --------------------------------------------------------------------------


def counts(active: int = 0, running: int = 0, succeeded: int = 0, failed: int = 0) -> Any:
    return models.TaskCounts(
        active=active,
        running=running,
        completed=succeeded + failed,
        succeeded=succeeded,
        failed=failed,
    )


def done(task_id: str, tick: int, *, ok: bool = True) -> CompletedTask:
    return CompletedTask(task_id=task_id, succeeded=ok, state_transition_time=at(tick))


def test_polls_counts_first_and_lists_only_on_change() -> None:
    ledger = WaitLedger(lag_tolerance=2, list_every=100)
    assert ledger.next_action() is WaitAction.FETCH_COUNTS
    ledger.counts_received(counts(active=3))
    assert ledger.next_action() is WaitAction.LIST_COMPLETED
    assert ledger.list_filter() == "state eq 'completed'"
    assert ledger.page_received([]) == []
    ledger.listing_finished()
    assert ledger.next_action() is WaitAction.SLEEP
    ledger.slept()
    ledger.counts_received(counts(active=3))  # unchanged: no listing
    assert ledger.next_action() is WaitAction.SLEEP
    ledger.slept()
    ledger.counts_received(counts(active=1, succeeded=2))
    assert ledger.next_action() is WaitAction.LIST_COMPLETED
    assert len(ledger.page_received([done("a", 10), done("b", 12)])) == 2
    ledger.listing_finished()
    assert ledger.list_filter() == (
        "state eq 'completed' and stateTransitionTime ge datetime'2026-01-01T00:00:10.000000Z'"
    )
    assert ledger.progress().completed == 2
    assert ledger.progress().total == 3


def test_job_done_needs_an_exact_check_and_a_last_listing() -> None:
    ledger = WaitLedger(lag_tolerance=1)
    ledger.counts_received(counts(succeeded=1))
    ledger.page_received([done("a", 5)])
    ledger.listing_finished()
    assert ledger.next_action() is WaitAction.CHECK_INCOMPLETE
    ledger.incomplete_checked(True)  # the counts were stale
    assert ledger.next_action() is WaitAction.SLEEP
    ledger.slept()
    ledger.counts_received(counts(succeeded=1))
    assert ledger.next_action() is WaitAction.CHECK_INCOMPLETE
    ledger.incomplete_checked(False)
    assert ledger.next_action() is WaitAction.LIST_COMPLETED
    assert [t.task_id for t in ledger.page_received([done("a", 5), done("b", 4)])] == ["b"]
    ledger.listing_finished()
    assert ledger.next_action() is WaitAction.DONE
    summary = ledger.summary()
    assert (summary.total, summary.succeeded, summary.done) == (2, 2, True)
    assert summary.all_succeeded


def test_window_stays_bounded_by_the_lag_tolerance() -> None:
    ledger = WaitLedger(lag_tolerance=2, list_every=1)
    for tick in range(200):
        ledger.counts_received(counts(active=1, succeeded=tick))
        ledger.page_received([done(f"t{tick}-{i}", tick) for i in range(5)])
        ledger.listing_finished()
        ledger.slept()
    assert ledger.succeeded == 1000
    assert ledger.window <= 5 * 3  # the last 3 seconds of completions, not 1000 ids


def test_given_ids_finish_without_waiting_for_the_rest_of_the_job() -> None:
    ledger = WaitLedger(["A", "b"])
    ledger.counts_received(counts(active=10, failed=1, succeeded=1))
    fresh = ledger.page_received([done("a", 1), done("x", 1), done("B", 2, ok=False)])
    assert [t.task_id for t in fresh] == ["a", "B"]
    ledger.listing_finished()
    assert ledger.next_action() is WaitAction.DONE
    summary = ledger.summary()
    assert (summary.total, summary.succeeded, summary.failed) == (2, 1, 1)
    assert summary.failures[0].task_id == "B"
    assert not summary.all_succeeded


def test_no_ids_means_done_at_once() -> None:
    ledger = WaitLedger([])
    assert ledger.next_action() is WaitAction.DONE
    assert ledger.summary().total == 0


def test_completed_task_reads_the_result() -> None:
    def task(**info: Any) -> models.CloudTask:
        return models.CloudTask.from_dict(
            {
                "id": "t",
                "state": "completed",
                "stateTransitionTime": "2026-01-01T00:00:00.1234567Z",
                "executionInfo": {"retryCount": 0, "requeueCount": 0, **info},
            }
        )

    ok = completed_task(task(exitCode=0, result="success"))
    assert ok is not None
    assert ok.succeeded
    failed = completed_task(
        task(
            exitCode=3,
            result="failure",
            failureInfo={"category": "usererror", "code": "FailureExitCode"},
        )
    )
    assert failed is not None
    assert not failed.succeeded
    assert failed.failure_info is not None
    assert failed.failure_info.code == "FailureExitCode"
    no_result = completed_task(task(exitCode=2))  # older api-versions send no result
    assert no_result is not None
    assert not no_result.succeeded
    active = models.CloudTask.from_dict({"id": "t", "state": "active"})
    assert completed_task(active) is None
    with pytest.raises(ValueError, match="stateTransitionTime"):
        completed_task(models.CloudTask.from_dict({"id": "t", "state": "completed"}))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"task_ids": "t1"},
        {"task_ids": ["t1", ""]},
        {"task_ids": [3]},
        {"lag_tolerance": -1},
        {"lag_tolerance": float("nan")},
        {"list_every": 0},
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ClientValidationError):
        WaitLedger(**kwargs)


def test_actions_out_of_order_are_a_bug_not_a_silent_skip() -> None:
    ledger = WaitLedger()
    with pytest.raises(RuntimeError, match="expected"):
        ledger.slept()


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=30))
def test_repeated_listings_of_the_same_completions_count_once(
    entries: list[tuple[int, int]],
) -> None:
    ledger = WaitLedger(lag_tolerance=10, list_every=1)
    ledger.counts_received(counts(active=1))
    tasks = {f"t{i}": done(f"t{i}", tick) for i, tick in entries}
    for _ in range(3):
        ledger.page_received(list(tasks.values()))
        ledger.page_received(list(tasks.values()))
        ledger.listing_finished()
        ledger.slept()
        ledger.counts_received(counts(active=1))
    assert ledger.succeeded == len(tasks)
