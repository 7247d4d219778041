"""The wait ledger against a model of a job whose tasks complete in any order, at any time.

The model is a service with a clock (whole seconds, so many transitions tie), tasks that
complete with a ``stateTransitionTime`` up to ``LAG`` seconds before they show in listings,
failed tasks that are reactivated and complete again, task counts that may be stale, listings
of any page size served page by page while the job moves on (a task may complete behind the
cursor), in any order within a page, and a service that may ignore the time filter. The ledger
must never count or yield a completion twice, never yield one that did not happen, and when it
says done, have seen every task's final outcome; and it must always get there once the tasks
are done.
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
        for task in data.draw(st.lists(st.sampled_from(self.tasks), unique_by=id)) if n else []:
            self.finish(task, data)  # some tasks completed before the wait began
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

    def row(self, task: ModelTask, ignore_filter: bool) -> CompletedTask | None:
        view = task.view(self.now)
        since = self.ledger.since
        if not view.completed or (not ignore_filter and since is not None and at(view.stt) < since):
            return None
        return CompletedTask(
            task_id=task.task_id,
            succeeded=not view.failed,
            exit_code=1 if view.failed else 0,
            state_transition_time=at(view.stt),
        )

    def list_completed(self, data: st.DataObject | None) -> None:
        """Serve the listing page by page, in task order, as a skiptoken does: the job moves
        on between pages, so a task may complete behind the cursor."""
        ignore_filter = data.draw(st.booleans(), label="ignore filter") if data else False
        size = data.draw(st.integers(min_value=1, max_value=4), label="page size") if data else 99
        position = 0
        while True:
            page: list[CompletedTask] = []
            while position < len(self.tasks) and len(page) < size:
                row = self.row(self.tasks[position], ignore_filter)
                position += 1
                if row is not None:
                    page.append(row)
            if data is not None:
                page = data.draw(st.permutations(page), label="order")
            for event in self.ledger.page_received(page):
                self.yielded.setdefault(event.task_id, []).append(
                    (event.state_transition_time, event.succeeded)
                )
            if position >= len(self.tasks):
                break
            if data is not None:
                for _ in range(data.draw(st.integers(min_value=0, max_value=3), label="moves")):
                    self.now += data.draw(
                        st.integers(min_value=0, max_value=2 * LAG + 2), label="dt"
                    )
                    self.complete(data)
                if data.draw(st.booleans(), label="reactivate between pages"):
                    self.reactivate(data)
        self.ledger.listing_finished()

    def carry_out(self, data: st.DataObject | None) -> None:
        action = self.ledger.next_action()
        if action is WaitAction.FETCH_COUNTS:
            stale = data is not None and self.last_counts is not None and data.draw(st.booleans())
            counts = self.last_counts if stale and self.last_counts else self.counts()
            self.last_counts = counts
            self.ledger.counts_received(counts)
        elif action is WaitAction.LIST_COMPLETED:
            self.list_completed(data)
        elif action is WaitAction.CHECK_INCOMPLETE:
            found = any(not t.view(self.now).completed for t in self.tasks)
            if not found:  # the moment the job was seen done (a task may be reactivated later)
                self.seen_done = {t.task_id: t.view(self.now).stt for t in self.tasks}
            self.ledger.incomplete_checked(found)
        elif action is WaitAction.CONFIRM:
            self.confirm()
        elif action is WaitAction.SLEEP:
            self.ledger.slept()
        if self.ledger.next_action() is WaitAction.DONE and not self.done_checked:
            self.done_checked = True
            self.check_done()

    def confirm(self) -> None:
        """One request: the tasks that are incomplete or transitioned at or after the bound."""
        since = self.ledger.confirm_since
        views = [(t, t.view(self.now)) for t in self.tasks]
        matching = [
            (t, v) for t, v in views if not v.completed or since is None or at(v.stt) >= since
        ]
        incomplete = any(not v.completed for _, v in matching)
        if not incomplete:  # the job seen done again, later
            self.seen_done = {t.task_id: v.stt for t, v in views}
        rows = [self.row(t, ignore_filter=True) for t, v in matching if v.completed]
        fresh = self.ledger.confirm_received(
            [r for r in rows if r is not None], incomplete=incomplete, more=False
        )
        for event in fresh:
            self.yielded.setdefault(event.task_id, []).append(
                (event.state_transition_time, event.succeeded)
            )

    @precondition(lambda self: self.ledger.next_action() is not WaitAction.DONE)
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="steps")):
            if self.ledger.next_action() is WaitAction.DONE:
                return
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
    # The watermark advances to what was known when a listing began, less the lag tolerance.
    assert ledger.list_filter() == "state eq 'completed'"
    ledger.slept()
    ledger.counts_received(counts(active=0, running=1, succeeded=2))
    assert ledger.page_received([done("a", 10), done("b", 12)]) == []
    ledger.listing_finished()
    assert ledger.list_filter() == (
        "state eq 'completed' and stateTransitionTime ge datetime'2026-01-01T00:00:10.000000Z'"
    )
    assert ledger.progress().completed == 2
    assert ledger.progress().total == 3


def test_job_done_needs_an_exact_check_and_a_last_listing() -> None:
    ledger = WaitLedger(lag_tolerance=1)
    ledger.counts_received(counts(active=1))
    ledger.page_received([done("a", 5)])
    ledger.listing_finished()
    ledger.slept()
    ledger.counts_received(counts(succeeded=1))  # looks done: straight to the exact check
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
    # A confirming snapshot after the last listing: only it can see a task reactivated (or
    # reactivated and completed again) while that listing ran.
    assert ledger.next_action() is WaitAction.CONFIRM
    assert ledger.confirm_filter() == (
        "state ne 'completed' or stateTransitionTime ge datetime'2026-01-01T00:00:05.000000Z'"
    )
    assert ledger.confirm_received([done("a", 5)], incomplete=False, more=False) == []
    assert ledger.next_action() is WaitAction.DONE
    summary = ledger.summary()
    assert (summary.total, summary.succeeded, summary.done) == (2, 2, True)
    assert summary.all_succeeded


def test_a_task_reactivated_during_the_last_listing_is_waited_for_and_counted_once() -> None:
    # The sequence the property test found: the counts look done, the exact check finds no
    # incomplete task, then a failed task is reactivated while the last listing runs. That
    # listing asks for completed tasks only, so it cannot show the task; the wait must not end
    # (nor call a given id missing) until a check made after the listing finds nothing.
    for task_ids in (None, ["a", "f"]):
        ledger = WaitLedger(task_ids, lag_tolerance=1, list_every=100)
        ledger.counts_received(counts(succeeded=1, failed=1))
        assert ledger.next_action() is WaitAction.CHECK_INCOMPLETE
        ledger.incomplete_checked(False)
        assert ledger.next_action() is WaitAction.LIST_COMPLETED
        assert [t.task_id for t in ledger.page_received([done("a", 1)])] == ["a"]
        # "f" (failed at tick 2) is reactivated here, before its page is served.
        assert ledger.page_received([]) == []
        ledger.listing_finished()
        assert ledger.next_action() is WaitAction.CONFIRM
        assert ledger.confirm_received([done("a", 1)], incomplete=True, more=False) == []
        assert ledger.next_action() is WaitAction.SLEEP  # "f" is active again
        assert not ledger.summary().done
        ledger.slept()
        ledger.counts_received(counts(active=1, succeeded=1))
        assert ledger.next_action() is WaitAction.LIST_COMPLETED
        assert ledger.page_received([done("a", 1)]) == []
        ledger.listing_finished()
        ledger.slept()
        ledger.counts_received(counts(succeeded=2))  # "f" completed again, and succeeded
        assert ledger.next_action() is WaitAction.CHECK_INCOMPLETE
        ledger.incomplete_checked(False)
        fresh = ledger.page_received([done("a", 1), done("f", 6)])
        assert [t.task_id for t in fresh] == ["f"]
        ledger.listing_finished()
        if task_ids is None:
            assert ledger.next_action() is WaitAction.CONFIRM
            ledger.confirm_received([done("a", 1), done("f", 6)], incomplete=False, more=False)
        assert ledger.next_action() is WaitAction.DONE
        summary = ledger.summary()
        assert (summary.total, summary.succeeded, summary.failed) == (2, 2, 0)
        assert summary.missing == ()
        assert summary.all_succeeded


def test_a_task_reactivated_and_completed_again_behind_the_last_listing_is_counted() -> None:
    # Seed 3 of the property test: the last listing's cursor passed failed task "f", which
    # was then reactivated and completed again before the listing ended; an exact check after
    # the listing finds nothing incomplete, but the confirming snapshot shows the new outcome.
    ledger = WaitLedger(lag_tolerance=1, list_every=100)
    ledger.counts_received(counts(succeeded=1, failed=1))
    ledger.incomplete_checked(False)
    assert len(ledger.page_received([done("a", 1), done("f", 2, ok=False)])) == 2
    ledger.listing_finished()
    assert ledger.next_action() is WaitAction.CONFIRM
    assert ledger.confirm_since is None  # nothing was known before the listing: every task
    assert ledger.confirm_filter() is None
    again = done("f", 4)
    assert ledger.confirm_received([done("a", 1), again], incomplete=False, more=False) == [again]
    assert ledger.next_action() is WaitAction.SLEEP  # it moved: one more round to be sure
    assert (ledger.succeeded, ledger.failed) == (2, 0)
    ledger.slept()
    ledger.counts_received(counts(succeeded=2))
    ledger.incomplete_checked(False)
    assert ledger.page_received([done("a", 1), again]) == []
    ledger.listing_finished()
    assert ledger.confirm_since == at(4)
    assert ledger.confirm_received([again], incomplete=False, more=False) == []
    assert ledger.next_action() is WaitAction.DONE
    assert ledger.summary().all_succeeded


def test_a_confirmation_of_more_than_one_page_is_no_snapshot() -> None:
    ledger = WaitLedger(lag_tolerance=1)
    ledger.counts_received(counts(succeeded=1))
    ledger.incomplete_checked(False)
    ledger.page_received([done("a", 1)])
    ledger.listing_finished()
    assert ledger.confirm_received([done("a", 1)], incomplete=False, more=True) == []
    assert ledger.next_action() is WaitAction.SLEEP


def test_window_stays_bounded_by_the_lag_tolerance() -> None:
    ledger = WaitLedger(lag_tolerance=2, list_every=1)
    for tick in range(200):
        ledger.counts_received(counts(active=1, succeeded=tick))
        ledger.page_received([done(f"t{tick}-{i}", tick) for i in range(5)])
        ledger.listing_finished()
        ledger.slept()
    assert ledger.succeeded == 1000
    # The completions of the last lag_tolerance seconds and one listing: 20 ids, not 1000.
    assert ledger.window <= 5 * 4


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


def test_a_task_completing_behind_a_listings_cursor_is_found_next_time() -> None:
    ledger = WaitLedger(lag_tolerance=3, list_every=1)
    ledger.counts_received(counts(active=3))
    ledger.page_received([done("b", 10)])
    ledger.listing_finished()
    ledger.slept()
    ledger.counts_received(counts(active=2, succeeded=1))
    ledger.page_received([])  # page 1 of 2: "a" has not completed yet
    # ... "a" completes at 11, behind the cursor; "c" completes at 20, ahead of it.
    ledger.page_received([done("c", 20)])
    ledger.listing_finished()
    assert ledger.since is not None
    assert ledger.since <= at(11)  # the watermark did not jump past "a"
    ledger.slept()
    ledger.counts_received(counts(active=1, succeeded=2))
    assert [t.task_id for t in ledger.page_received([done("a", 11), done("c", 20)])] == ["a"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=30),  # stateTransitionTime
            st.integers(min_value=0, max_value=LAG),  # how late it shows in listings
            st.booleans(),  # failed
        ),
        min_size=1,
        max_size=15,
    ),
    st.data(),
)
def test_a_job_on_a_schedule_is_counted_exactly_with_paged_listings(
    schedule: list[tuple[int, int, bool]], data: st.DataObject
) -> None:
    """Tasks complete on a fixed schedule while listings are served page by page over time."""
    ledger = WaitLedger(lag_tolerance=LAG, list_every=2)
    clock = 0

    def visible(i: int) -> bool:
        stt, late, _ = schedule[i]
        return clock >= stt + late

    for _ in range(500):
        action = ledger.next_action()
        if action is WaitAction.DONE:
            break
        if action is WaitAction.FETCH_COUNTS:
            shown = [i for i in range(len(schedule)) if visible(i)]
            bad = sum(schedule[i][2] for i in shown)
            ledger.counts_received(
                counts(active=len(schedule) - len(shown), succeeded=len(shown) - bad, failed=bad)
            )
        elif action is WaitAction.LIST_COMPLETED:
            size = data.draw(st.integers(min_value=1, max_value=3), label="page size")
            position = 0
            while True:
                page: list[CompletedTask] = []
                while position < len(schedule) and len(page) < size:
                    stt, _, failed = schedule[position]
                    if visible(position) and (ledger.since is None or at(stt) >= ledger.since):
                        page.append(done(f"t{position}", stt, ok=not failed))
                    position += 1
                ledger.page_received(page)
                if position >= len(schedule):
                    break
                clock += data.draw(st.integers(min_value=0, max_value=2 * LAG), label="page gap")
            ledger.listing_finished()
        elif action is WaitAction.CHECK_INCOMPLETE:
            ledger.incomplete_checked(not all(visible(i) for i in range(len(schedule))))
        elif action is WaitAction.CONFIRM:
            bound = ledger.confirm_since
            rows = [
                done(f"t{i}", stt, ok=not failed)
                for i, (stt, _, failed) in enumerate(schedule)
                if visible(i) and (bound is None or at(stt) >= bound)
            ]
            incomplete = not all(visible(i) for i in range(len(schedule)))
            ledger.confirm_received(rows, incomplete=incomplete, more=False)
        else:
            clock += data.draw(st.integers(min_value=1, max_value=LAG), label="poll interval")
            ledger.slept()
    assert ledger.next_action() is WaitAction.DONE
    summary = ledger.summary()
    assert summary.total == len(schedule)
    assert {f.task_id for f in summary.failures} == {
        f"t{i}" for i, (_, _, failed) in enumerate(schedule) if failed
    }
    assert summary.succeeded == sum(not failed for _, _, failed in schedule)
