"""The bulk engine against fake senders: no HTTP, no real sleeping (backoff is injected)."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.lowlevel
import orjson
import pytest

from batch_tasks_async import models
from batch_tasks_async._bulk import (
    BulkOptions,
    BulkProgress,
    BulkRetryPolicy,
    ReadBack,
    TaskAddStream,
)
from batch_tasks_async._bulk import add_tasks as _add_tasks
from batch_tasks_async._bulk import stream_tasks as _stream_tasks
from batch_tasks_async.errors import (
    AuthenticationError,
    BadRequestError,
    BatchConnectionError,
    BatchError,
    BatchTimeoutError,
    ClientValidationError,
    CreateTasksError,
    NotFoundError,
    PermissionDeniedError,
    RequestBodyTooLargeError,
    ServerError,
    TaskInputError,
    ThrottledError,
    UnconfirmedTask,
)

pytestmark = pytest.mark.anyio

S = models.TaskAddStatus.SUCCESS
CE = models.TaskAddStatus.CLIENT_ERROR
SE = models.TaskAddStatus.SERVER_ERROR
FAST = BulkRetryPolicy.no_backoff()


async def add_tasks(send: Any, items: Any, **options: Any) -> models.TaskAddCollectionResult:
    """The engine with the options as keywords, reading tasks back through the fake service."""
    return await _add_tasks(
        send, items, BulkOptions(**options), read_back=getattr(send, "read_back", None)
    )


def stream_tasks(send: Any, items: Any, **options: Any) -> TaskAddStream:
    return _stream_tasks(
        send, items, BulkOptions(**options), read_back=getattr(send, "read_back", None)
    )


def tasks(n: int, prefix: str = "t") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "commandLine": "echo hi"} for i in range(n)]


def err(code: str, message: str = "") -> models.BatchError:
    return models.BatchError(code=code, message=models.ErrorMessage(lang="en-US", value=message))


Handler = Callable[[int, list[str]], Any]


class FakeService:
    """A fake Batch job: commits tasks by id (case-insensitively) and records every request.

    ``hook(call_no, ids)`` may raise, or return a result list to use instead of the default
    behaviour ("commit and answer"), or ``None`` for the default.
    """

    def __init__(self, hook: Handler | None = None, *, shuffle: bool = False) -> None:
        self.hook = hook
        self.shuffle = shuffle
        self.committed: dict[str, str] = {}
        self.created: dict[str, datetime] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        self.commits: Counter[str] = Counter()
        self.calls: list[tuple[str, list[str], int]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.rng = random.Random(1)
        self.delay = 0.0

    def commit(self, ids: list[str]) -> list[models.TaskAddResult]:
        results = []
        for task_id in ids:
            key = task_id.casefold()
            self.created.setdefault(key, datetime.now(UTC))
            if key in self.committed:
                results.append(
                    models.TaskAddResult(status=CE, task_id=task_id, error=err("TaskExists"))
                )
            else:
                self.committed[key] = task_id
                self.commits[key] += 1
                results.append(models.TaskAddResult(status=S, task_id=task_id, e_tag="0x1"))
        if self.shuffle:
            self.rng.shuffle(results)
        return results

    async def read_back(self, task_id: str) -> ReadBack | None:
        key = task_id.casefold()
        if key not in self.committed:
            return None
        return ReadBack(
            creation_time=self.created[key],
            fields=self.bodies.get(key, {"id": task_id}),
            service_date=None,
            received_at=datetime.now(UTC),
        )

    async def __call__(self, body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        sent = orjson.loads(body)["value"]
        for item in sent:
            self.bodies.setdefault(item["id"].casefold(), item)
        ids = [t["id"] for t in sent]
        call_no = len(self.calls)
        self.calls.append((client_request_id, ids, len(body)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await anyio.sleep(self.delay)
            if self.hook is not None:
                answer = self.hook(call_no, ids)
                if answer is not None:
                    return list(answer)
            return self.commit(ids)
        finally:
            self.in_flight -= 1

    def sent_ids(self) -> Counter[str]:
        return Counter(task_id for _, ids, _ in self.calls for task_id in ids)


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


# ----------------------------------------------------------------------------------------------
# Happy paths
# ----------------------------------------------------------------------------------------------


async def test_happy_path_models_and_mappings_in_input_order() -> None:
    service = FakeService(shuffle=True)
    items: list[Any] = [
        models.TaskAddParameter(id=f"m{i}", command_line="echo") if i % 2 else t
        for i, t in enumerate(tasks(250))
    ]
    result = await add_tasks(service, items, retry_policy=FAST)
    assert result.value is not None
    expected_ids = [getattr(t, "id", None) or t["id"] for t in items]
    assert [r.task_id for r in result.value] == expected_ids
    assert all(r.status == S and r.e_tag == "0x1" for r in result.value)
    assert [len(ids) for _, ids, _ in service.calls] == [100, 100, 50]
    request_ids = [rid for rid, _, _ in service.calls]
    assert len(set(request_ids)) == 3
    assert all(uuid.UUID(rid).version == 4 for rid in request_ids)
    assert set(service.commits.values()) == {1}


async def test_results_matched_by_id_case_insensitively_in_any_order() -> None:
    def hook(_: int, ids: list[str]) -> list[models.TaskAddResult]:
        return [models.TaskAddResult(status=S, task_id=i.upper()) for i in reversed(ids)]

    result = await add_tasks(FakeService(hook), tasks(30), retry_policy=FAST)
    assert result.value is not None
    assert [r.task_id for r in result.value] == [f"T{i}" for i in range(30)]


async def test_async_iterable_input_and_stream() -> None:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for task in tasks(230):
            if int(task["id"][1:]) % 50 == 0:
                await anyio.lowlevel.checkpoint()
            yield task

    service = FakeService()
    seen = []
    async with stream_tasks(service, source(), retry_policy=FAST) as stream:
        async for r in stream:
            seen.append(r.task_id)
    assert sorted(seen) == sorted(t["id"] for t in tasks(230))
    assert stream.unconfirmed == []
    assert len(service.committed) == 230


async def test_stalled_async_input_does_not_hold_back_a_partial_chunk() -> None:
    release = anyio.Event()

    async def source() -> AsyncIterator[dict[str, Any]]:
        for task in tasks(3):
            yield task
        await release.wait()  # the input stalls with 3 tasks packed
        yield {"id": "late", "commandLine": "x"}

    service = FakeService()
    got: list[str] = []
    async with stream_tasks(service, source(), retry_policy=FAST) as stream:
        async for r in stream:
            got.append(r.task_id)
            if len(got) == 3:
                release.set()  # only reachable if the partial chunk was sent while stalled
    assert sorted(got) == ["late", "t0", "t1", "t2"]


async def test_direct_iteration_without_context_manager() -> None:
    service = FakeService()
    got = [r.task_id async for r in stream_tasks(service, tasks(1234), concurrency=4)]
    assert sorted(got) == sorted(t["id"] for t in tasks(1234))
    assert set(service.commits.values()) == {1}


# ----------------------------------------------------------------------------------------------
# Per-task outcomes
# ----------------------------------------------------------------------------------------------


async def test_per_task_server_error_retries_only_those_tasks() -> None:
    flaky = {"t3", "t7", "t150"}

    def hook(call_no: int, ids: list[str]) -> list[models.TaskAddResult] | None:
        if call_no >= 2:
            return None
        results = service.commit([i for i in ids if i not in flaky])
        results += [
            models.TaskAddResult(status=SE, task_id=i, error=err("ServerError"))
            for i in ids
            if i in flaky
        ]
        return results

    service = FakeService(hook)
    result = await add_tasks(service, tasks(1000), concurrency=1, retry_policy=FAST)
    assert result.value is not None
    assert all(r.status == S for r in result.value)
    sent = service.sent_ids()
    assert {i for i, n in sent.items() if n == 2} == flaky
    assert all(n == 1 for i, n in sent.items() if i not in flaky)
    assert set(service.commits.values()) == {1}
    # The retried tasks travelled with fresh tasks, not in a request of their own.
    retry_calls = [ids for _, ids, _ in service.calls[2:] if set(ids) & flaky]
    assert all(len(ids) > len(set(ids) & flaky) for ids in retry_calls)


async def test_per_task_server_error_attempts_are_bounded() -> None:
    def hook(_: int, ids: list[str]) -> list[models.TaskAddResult]:
        out = service.commit([i for i in ids if i != "t1"])
        if "t1" in ids:
            out.append(models.TaskAddResult(status=SE, task_id="t1", error=err("ServerError")))
        return out

    service = FakeService(hook)
    policy = BulkRetryPolicy.no_backoff(max_attempts=3)
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, tasks(5), retry_policy=policy)
    assert service.sent_ids()["t1"] == 3
    # A per-task servererror may hide a commit: out of budget, the task is unconfirmed and
    # ambiguous, never "failed".
    assert info.value.failed == []
    [unconfirmed] = info.value.unconfirmed
    assert (unconfirmed.task_id, unconfirmed.ambiguous) == ("t1", True)
    assert unconfirmed.task == tasks(5)[1]
    assert info.value.added == 4
    assert info.value.result is not None
    assert len(info.value.result.value or []) == 5

    service = FakeService(hook)
    result = await add_tasks(service, tasks(5), retry_policy=policy, raise_on_failure=False)
    assert [r.status for r in result.value or []] == [S, SE, S, S, S]
    assert [r.error.code for r in result.value or [] if r.error] == ["TaskNotConfirmed"]


async def test_per_task_server_busy_out_of_budget_is_a_failure() -> None:
    def hook(_: int, ids: list[str]) -> list[models.TaskAddResult]:
        out = service.commit([i for i in ids if i != "t1"])
        if "t1" in ids:
            out.append(models.TaskAddResult(status=SE, task_id="t1", error=err("ServerBusy")))
        return out

    service = FakeService(hook)
    policy = BulkRetryPolicy.no_backoff(max_attempts=3)
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, tasks(5), retry_policy=policy)
    # ServerBusy is a refusal: the task was certainly not added.
    assert [r.task_id for r in info.value.failed] == ["t1"]
    assert info.value.failed_tasks == [tasks(5)[1]]
    assert info.value.unconfirmed == []


async def test_task_exists_after_ambiguous_attempt_counts_as_added() -> None:
    def hook(call_no: int, ids: list[str]) -> list[models.TaskAddResult] | None:
        if call_no == 0:
            service.commit(ids)  # the service did it, but the answer was lost
            raise BatchTimeoutError("read timed out", request_sent=True)
        return None

    service = FakeService(hook)
    result = await add_tasks(service, tasks(10), retry_policy=FAST)
    assert all(r.status == S and r.error is None for r in result.value or [])
    assert service.calls[0][0] == service.calls[1][0]  # same client-request-id on the retry
    assert set(service.commits.values()) == {1}


async def test_per_task_server_error_then_task_exists_counts_as_added() -> None:
    def hook(call_no: int, ids: list[str]) -> list[models.TaskAddResult] | None:
        if call_no == 0:
            service.commit(ids)
            return [models.TaskAddResult(status=SE, task_id=i) for i in ids]
        return None

    service = FakeService(hook)
    result = await add_tasks(service, tasks(4), retry_policy=FAST)
    assert [r.status for r in result.value or []] == [S] * 4


@pytest.mark.parametrize("if_exists", ["fail", "skip"])
async def test_task_exists_on_first_attempt(if_exists: str) -> None:
    service = FakeService()
    service.commit(["T1", "t3"])
    progress: list[BulkProgress] = []
    result = await add_tasks(
        service,
        tasks(5),
        retry_policy=FAST,
        if_exists=if_exists,
        raise_on_failure=False,
        on_progress=progress.append,
    )
    statuses = [r.status for r in result.value or []]
    if if_exists == "fail":
        assert statuses == [S, CE, S, CE, S]
        assert progress[-1].failed == 2
        assert progress[-1].already_existed == 0
    else:
        assert statuses == [S] * 5
        existing = [r for r in result.value or [] if r.error is not None]
        assert [(r.task_id, r.error.code if r.error else None) for r in existing] == [
            ("t1", "TaskExists"),
            ("t3", "TaskExists"),
        ]
        assert progress[-1].already_existed == 2
        assert progress[-1].added == 3


# ----------------------------------------------------------------------------------------------
# Request-level failures
# ----------------------------------------------------------------------------------------------


async def test_retry_after_is_honoured_for_429_and_503() -> None:
    def hook(call_no: int, _: list[str]) -> None:
        if call_no == 0:
            raise ThrottledError(429, code="TooManyRequests", retry_after=timedelta(seconds=7))
        if call_no == 1:
            raise ServerError(503, code="ServerBusy", retry_after=timedelta(seconds=3))
        if call_no == 2:
            raise ThrottledError(429, retry_after=timedelta(seconds=900))  # capped

    sleep = SleepRecorder()
    policy = BulkRetryPolicy(sleep=sleep, jitter=0, max_retry_after=60)
    service = FakeService(hook)
    result = await add_tasks(service, tasks(3), retry_policy=policy, on_progress=lambda p: None)
    assert all(r.status == S for r in result.value or [])
    assert sleep.delays == [7.0, 3.0, 60.0]
    assert len({rid for rid, _, _ in service.calls}) == 1


async def test_backoff_without_retry_after_grows_exponentially() -> None:
    def hook(call_no: int, _: list[str]) -> None:
        if call_no < 3:
            raise BatchConnectionError("refused", request_sent=False)

    sleep = SleepRecorder()
    policy = BulkRetryPolicy(sleep=sleep, jitter=0, backoff_base=0.5, backoff_max=1.5)
    result = await add_tasks(FakeService(hook), tasks(2), retry_policy=policy)
    assert all(r.status == S for r in result.value or [])
    assert sleep.delays == [0.5, 1.0, 1.5]


async def test_a_service_failing_every_request_stops_the_run_after_a_few_sends() -> None:
    def hook(_: int, __: list[str]) -> None:
        raise ServerError(500, code="InternalError")

    service = FakeService(hook)
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(
            service,
            tasks(250),
            concurrency=1,
            retry_policy=BulkRetryPolicy.no_backoff(max_attempts=3),
        )
    error = info.value
    # 3 attempts, then depth-first bisection (one send per half) down to single tasks, each
    # given 3 attempts; three given up with no request answered means the service is down.
    assert len(service.calls) <= 40
    assert isinstance(error.request_errors[0], ServerError)
    assert isinstance(error.__cause__, ServerError)
    by_id = {u.task_id: u for u in error.unconfirmed}
    sent = set(service.sent_ids())
    assert set(by_id) == {f"t{i}" for i in range(len(by_id))}
    assert all(by_id[i].ambiguous == (i in sent) for i in by_id)  # 5xx: may have been added
    assert error.result is not None
    codes = [r.error.code for r in error.result.value or [] if r.error]
    assert codes == ["TaskNotConfirmed"] * len(by_id)


async def test_a_poison_task_is_bisected_out_and_everything_else_is_added() -> None:
    def hook(_: int, ids: list[str]) -> None:
        if "t37" in ids:
            raise ServerError(500, code="InternalError")

    service = FakeService(hook)
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(
            service, tasks(500), concurrency=4, retry_policy=BulkRetryPolicy.no_backoff()
        )
    assert [u.task_id for u in info.value.unconfirmed] == ["t37"]
    assert info.value.unconfirmed[0].ambiguous
    assert info.value.added == 499
    assert len(service.committed) == 499
    assert set(service.commits.values()) == {1}


async def test_413_splits_the_request_and_lowers_the_limit() -> None:
    limit = 6_000

    def hook(_: int, ids: list[str]) -> None:
        if service.calls[-1][2] > limit:
            raise RequestBodyTooLargeError(413, code="RequestBodyTooLarge")

    service = FakeService(hook)
    items = [{"id": f"t{i}", "commandLine": "x" * 150} for i in range(1000)]
    result = await add_tasks(service, items, concurrency=1, retry_policy=FAST)
    assert all(r.status == S for r in result.value or [])
    assert set(service.commits.values()) == {1}
    assert len(service.commits) == 1000
    too_large = [size for _, _, size in service.calls if size > limit]
    # Only the first requests were too large: later ones were packed below the learned limit.
    assert 1 <= len(too_large) <= 4
    assert all(size <= limit for _, _, size in service.calls[12:])


async def test_task_too_large_for_any_request_fails_alone() -> None:
    service = FakeService()
    items = tasks(3)
    items.insert(1, {"id": "big", "commandLine": "x" * 5000})
    result = await add_tasks(
        service, items, max_request_bytes=4096, retry_policy=FAST, raise_on_failure=False
    )
    by_id = {r.task_id: r for r in result.value or []}
    big = by_id.pop("big")
    assert big.status == CE
    assert big.error is not None
    assert big.error.code == "RequestBodyTooLarge"
    assert big.error.message is not None
    assert "4096" in (big.error.message.value or "")
    assert all(r.status == S for r in by_id.values())
    assert "big" not in service.sent_ids()


async def test_task_the_service_finds_too_large_fails_alone() -> None:
    def hook(_: int, ids: list[str]) -> None:
        if "big" in ids:
            raise RequestBodyTooLargeError(413, code="RequestBodyTooLarge")

    service = FakeService(hook)
    items = tasks(20)
    items.insert(7, {"id": "big", "commandLine": "y"})
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, items, retry_policy=FAST)
    [failed] = info.value.failed
    assert failed.task_id == "big"
    assert failed.error is not None
    assert failed.error.code == "RequestBodyTooLarge"
    assert len(service.committed) == 20
    assert info.value.added == 20


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError(404, code="JobNotFound", message="The specified job does not exist."),
        AuthenticationError(401, code="InvalidAuthenticationInfo"),
        PermissionDeniedError(403, code="AuthorizationFailure"),
        BadRequestError(400, code="InvalidQueryParameterValue"),
    ],
)
async def test_errors_that_doom_every_request_stop_the_run(error: Exception) -> None:
    def hook(call_no: int, _: list[str]) -> None:
        if call_no >= 1:
            raise error

    service = FakeService(hook)
    service.delay = 0.001
    items = tasks(5000)
    source = iter(items)
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, source, concurrency=4, retry_policy=FAST)
    exc = info.value
    assert exc.request_errors[0] is error
    assert len(service.calls) <= 5  # stopped at once: only requests already in flight
    assert exc.added == 100
    assert len(service.committed) == 100
    # Nothing more was read than what was in hand: the rest is still in the caller's iterator.
    read = len(exc.result.value or []) if exc.result else 0
    assert read < 2000
    assert next(source) is items[read]
    assert [u.task_id for u in exc.unconfirmed] == [t["id"] for t in items[100:read]]
    assert [u.task for u in exc.unconfirmed] == items[100:read]
    # A definitive error means none of those tasks was added; unsent ones never were.
    assert not any(u.ambiguous for u in exc.unconfirmed)
    assert all(u.reason.startswith("run stopped") for u in exc.unconfirmed)


async def test_request_level_400_is_bisected_to_the_bad_task() -> None:
    def hook(_: int, ids: list[str]) -> None:
        if "bad" in ids:
            raise BadRequestError(
                400, code="InvalidPropertyValue", message="bad", values={"PropertyName": "x"}
            )

    service = FakeService(hook)
    items = tasks(40)
    items.insert(13, {"id": "bad", "commandLine": 1})
    result = await add_tasks(service, items, retry_policy=FAST, raise_on_failure=False)
    by_id = {r.task_id: r for r in result.value or []}
    assert by_id["bad"].status == CE
    assert by_id["bad"].error is not None
    assert by_id["bad"].error.code == "InvalidPropertyValue"
    assert len(service.committed) == 40


# ----------------------------------------------------------------------------------------------
# Input problems
# ----------------------------------------------------------------------------------------------


async def test_duplicate_ids_are_reported_and_sent_once() -> None:
    service = FakeService()
    items = [{"id": "a", "commandLine": "1"}, {"id": "A", "commandLine": "2"}]
    items += [{"id": "b", "commandLine": "3"}, {"id": "a", "commandLine": "4"}]
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, items, retry_policy=FAST)
    assert service.sent_ids() == Counter({"a": 1, "b": 1})
    result = info.value.result
    assert result is not None
    assert [(r.task_id, r.status) for r in result.value or []] == [
        ("a", S),
        ("A", CE),
        ("b", S),
        ("a", CE),
    ]
    assert {r.error.code for r in info.value.failed if r.error} == {"DuplicateTaskId"}


async def test_invalid_inputs_are_per_task_client_errors() -> None:
    service = FakeService()
    items: list[Any] = [
        {"commandLine": "no id"},
        {"id": 5, "commandLine": "int id"},
        {"id": "", "commandLine": "empty id"},
        42,
        {"id": "unserializable", "x": object()},
        {"id": "ok", "commandLine": "fine"},
    ]
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, items, retry_policy=FAST)
    codes = [r.error.code if r.error else None for r in info.value.result.value or []]  # type: ignore[union-attr]
    assert codes == [
        "MissingRequiredProperty",
        "InvalidPropertyValue",
        "InvalidPropertyValue",
        "InvalidRequestBody",
        "InvalidRequestBody",
        None,
    ]
    assert service.sent_ids() == Counter({"ok": 1})


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_tasks_per_request", 101),
        ("max_tasks_per_request", 0),
        ("max_request_bytes", 4 * 1024 * 1024 + 1),
        ("max_request_bytes", 10),
        ("concurrency", 0),
        ("if_exists", "replace"),
        ("deadline", -1),
        ("retry_policy", "fast"),
    ],
)
async def test_invalid_options_are_refused_before_anything_is_sent(option: str, value: Any) -> None:
    service = FakeService()
    with pytest.raises(ClientValidationError, match=option):
        await add_tasks(service, tasks(3), **{option: value})
    with pytest.raises(ClientValidationError, match=option):
        stream_tasks(service, tasks(3), **{option: value})
    assert service.calls == []


def test_retry_policy_validates() -> None:
    with pytest.raises(ClientValidationError, match="max_attempts"):
        BulkRetryPolicy(max_attempts=0)
    with pytest.raises(ClientValidationError, match="jitter"):
        BulkRetryPolicy(jitter=2)


async def test_failing_input_iterator_stops_the_run_and_keeps_what_was_read() -> None:
    def source() -> Iterator[dict[str, Any]]:
        yield from tasks(150)
        raise OSError("disk gone")

    service = FakeService()
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, source(), retry_policy=FAST)
    error = info.value.request_errors[0]
    assert isinstance(error, TaskInputError), "no foreign type escapes"
    assert isinstance(error.__cause__, OSError)
    assert "OSError: disk gone" in str(error)
    assert info.value.__cause__ is error
    assert info.value.added + len(info.value.unconfirmed) == 150
    assert not any(u.ambiguous for u in info.value.unconfirmed)
    assert len(service.committed) == info.value.added


# ----------------------------------------------------------------------------------------------
# Concurrency, progress, deadline, cancellation
# ----------------------------------------------------------------------------------------------


async def test_throttling_lowers_concurrency_and_it_climbs_back() -> None:
    throttle_calls = 30
    in_flight_at_call: list[int] = []

    def hook(call_no: int, _: list[str]) -> None:
        in_flight_at_call.append(service.in_flight)
        if call_no < throttle_calls:
            raise ThrottledError(429, code="TooManyRequests")

    service = FakeService(hook)
    service.delay = 0.002
    limits: list[int] = []
    await add_tasks(
        service,
        tasks(400),
        concurrency=8,
        max_tasks_per_request=1,
        retry_policy=BulkRetryPolicy.no_backoff(),
        on_progress=lambda p: limits.append(p.concurrency_limit),
        progress_interval=0.005,
    )
    assert max(in_flight_at_call) <= 8
    assert min(limits) == 1  # went down while throttled...
    assert limits[-1] == 8  # ...and back up to the configured limit when it stopped
    after = in_flight_at_call[throttle_calls : throttle_calls + 8]
    assert max(after) <= 4  # right after the throttling, few requests were in flight
    assert max(in_flight_at_call[-100:]) == 8
    assert set(service.commits.values()) == {1}
    assert len(service.commits) == 400


async def test_progress_reports_counts_and_a_final_call() -> None:
    def hook(call_no: int, ids: list[str]) -> list[models.TaskAddResult] | None:
        if call_no == 0:
            raise ThrottledError(429)
        if call_no == 1:
            out = service.commit(ids[1:])
            return [*out, models.TaskAddResult(status=SE, task_id=ids[0])]
        return None

    service = FakeService(hook)
    service.delay = 0.01
    reports: list[BulkProgress] = []
    items = [*tasks(150), {"nope": 1}]
    service.commit(["t149"])
    await add_tasks(
        service,
        items,
        retry_policy=FAST,
        on_progress=reports.append,
        progress_interval=0.005,
        raise_on_failure=False,
    )
    final = reports[-1]
    assert final.done
    assert sum(r.done for r in reports) == 1
    assert len(reports) >= 2
    assert final.tasks_read == 151
    assert final.added == 149
    assert final.failed == 2
    assert final.throttled == 1
    assert final.retried == 101  # the throttled request (100) and one per-task retry
    assert final.requests_sent == 4
    assert final.in_flight == 0
    assert final.requests_in_flight == 0
    assert any(r.in_flight > 0 for r in reports[:-1])
    assert final.elapsed > 0


async def test_deadline_reports_unfinished_tasks() -> None:
    def hook(call_no: int, _: list[str]) -> None:
        return None

    hang = anyio.Event()

    async def send(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        ids = [t["id"] for t in orjson.loads(body)["value"]]
        if ids[0] == "t0":
            return service.commit(ids)
        service.calls.append((client_request_id, ids, len(body)))
        await hang.wait()  # never answers
        raise AssertionError("unreachable")

    service = FakeService(hook)
    start = anyio.current_time()
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(send, tasks(300), concurrency=1, deadline=0.2, retry_policy=FAST)
    assert anyio.current_time() - start < 2
    error = info.value
    assert error.added == 100
    by_id = {u.task_id: u for u in error.unconfirmed}
    assert set(by_id) == {f"t{i}" for i in range(100, 300)}
    in_flight = set(service.calls[0][1])
    assert all(by_id[i].ambiguous == (i in in_flight) for i in by_id)
    assert {u.reason for u in error.unconfirmed} == {"deadline exceeded"}


async def test_cancelled_stream_reports_exactly_what_is_known() -> None:
    service = FakeService()
    service.delay = 0.01
    got: list[models.TaskAddResult] = []
    items = tasks(3000)
    with anyio.move_on_after(0.05):
        async with stream_tasks(service, items, concurrency=4, retry_policy=FAST) as stream:
            async for r in stream:
                got.append(r)
    assert 0 < len(got) < 3000
    unconfirmed = stream.unconfirmed
    got += stream.pending_results  # final, but not yet yielded when the loop was cancelled
    read = stream.progress.tasks_read
    assert {r.task_id for r in got} | {u.task_id for u in unconfirmed} == {
        t["id"] for t in items[:read]
    }
    assert len(got) + len(unconfirmed) == read
    # Nothing reported added that the service does not hold; ambiguity only where in flight.
    assert {r.task_id.casefold() for r in got} <= set(service.committed)
    for u in unconfirmed:
        assert u.ambiguous or u.task_id.casefold() not in service.committed


@pytest.mark.parametrize("direct", [True, False])
async def test_early_break_from_the_stream_is_clean(direct: bool) -> None:
    service = FakeService()
    service.delay = 0.001
    items = tasks(5000)
    stream = stream_tasks(service, items, concurrency=4, retry_policy=FAST)
    count = 0
    if direct:
        async for _ in stream:
            count += 1
            if count == 10:
                break
        await stream.aclose()
    else:
        async with stream:
            async for _ in stream:
                count += 1
                if count == 10:
                    break
    await anyio.sleep(0.01)  # nothing keeps running in the background
    calls = len(service.calls)
    await anyio.sleep(0.02)
    assert len(service.calls) == calls
    assert stream.progress.requests_in_flight == 0
    assert len(service.committed) < 5000
    for u in stream.unconfirmed:
        assert u.ambiguous or u.task_id.casefold() not in service.committed


async def test_stream_raises_create_tasks_error_when_the_run_stops() -> None:
    def hook(call_no: int, _: list[str]) -> None:
        if call_no == 1:
            raise NotFoundError(404, code="JobNotFound")

    service = FakeService(hook)
    got: list[models.TaskAddResult] = []

    async def consume() -> None:
        async with stream_tasks(service, tasks(500), concurrency=1, retry_policy=FAST) as s:
            async for r in s:
                got.append(r)

    with pytest.raises(CreateTasksError) as info:
        await consume()
    assert len(got) == 100
    assert info.value.failed == []
    assert info.value.added == 100
    assert isinstance(info.value.__cause__, NotFoundError)
    # The stream does not read the rest of the input: unread tasks stay in the iterator.
    assert 0 < len(info.value.unconfirmed) <= 400

    service = FakeService(hook)
    stream = stream_tasks(
        service, tasks(500), concurrency=1, retry_policy=FAST, raise_on_failure=False
    )
    assert len([r async for r in stream]) == 100
    assert stream.unconfirmed
    assert isinstance(stream.request_errors[0], NotFoundError)


async def test_unexpected_sender_exception_stops_with_ambiguous_tasks() -> None:
    def hook(_: int, __: list[str]) -> None:
        raise KeyError("bug")

    with pytest.raises(CreateTasksError) as info:
        await add_tasks(FakeService(hook), tasks(5), retry_policy=FAST)
    assert all(u.ambiguous for u in info.value.unconfirmed)
    # Only SDK errors reach the caller: the sender's bug is the cause of one.
    assert type(info.value.__cause__) is BatchError
    assert isinstance(info.value.__cause__.__cause__, KeyError)


# ----------------------------------------------------------------------------------------------
# A stateful fake service with random faults
# ----------------------------------------------------------------------------------------------


class ChaosService(FakeService):
    """Commits tasks like the service and injects seeded faults before and after committing."""

    def __init__(self, seed: int) -> None:
        super().__init__(shuffle=True)
        self.rng = random.Random(seed)
        self.hook = self.chaos

    def chaos(self, _: int, ids: list[str]) -> list[models.TaskAddResult]:
        roll = self.rng.random()
        if roll < 0.08:
            raise ThrottledError(429, retry_after=timedelta(seconds=1))
        if roll < 0.12:
            raise ServerError(503, code="ServerBusy")
        if roll < 0.16:
            raise BatchConnectionError("refused", request_sent=False)
        if roll < 0.22:
            self.commit(ids)
            raise BatchTimeoutError("timed out", request_sent=True)
        if roll < 0.26:
            self.commit(ids[: len(ids) // 2])
            raise ServerError(500, code="InternalError")
        if roll < 0.30 and len(ids) > 1:
            raise RequestBodyTooLargeError(413)
        results: list[models.TaskAddResult] = []
        for task_id in ids:
            r = self.rng.random()
            if r < 0.05:
                results.append(models.TaskAddResult(status=SE, task_id=task_id))
            elif r < 0.08:
                self.commit([task_id])  # added, but the service reports a server error
                results.append(models.TaskAddResult(status=SE, task_id=task_id))
            elif r < 0.10:
                self.commit([task_id])  # added, but left out of the answer
            else:
                results.extend(self.commit([task_id]))
        self.rng.shuffle(results)
        return results


@pytest.mark.parametrize("seed", range(6))
async def test_mixed_faults_commit_every_task_exactly_once(seed: int) -> None:
    service = ChaosService(seed)
    items = tasks(2000)
    result = await add_tasks(
        service,
        items,
        concurrency=8,
        max_tasks_per_request=50,
        retry_policy=BulkRetryPolicy(
            sleep=SleepRecorder(), max_attempts=12, max_throttled_attempts=50
        ),
        raise_on_failure=False,
    )
    by_id = {r.task_id: r for r in result.value or []}
    assert len(by_id) == 2000 == len(result.value or [])
    assert set(service.commits.values()) == {1}  # nothing added twice
    successes = {i for i, r in by_id.items() if r.status == S}
    assert {i.casefold() for i in successes} <= set(service.committed)  # never a false success
    assert successes == {t["id"] for t in items}  # and with enough attempts, all of them


async def test_unconfirmed_task_equality_is_by_value() -> None:
    assert UnconfirmedTask("a", "x", ambiguous=True) == UnconfirmedTask("a", "x", ambiguous=True)


async def test_failing_async_input_iterator_is_wrapped_in_an_sdk_error() -> None:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for item in tasks(20):
            yield item
        raise KeyError("no such row")

    service = FakeService()
    with pytest.raises(CreateTasksError) as info:
        await add_tasks(service, source(), retry_policy=FAST)
    (error,) = info.value.request_errors
    assert isinstance(error, TaskInputError)
    assert isinstance(error.__cause__, KeyError)
    assert info.value.added + len(info.value.unconfirmed) == 20


def test_an_unbounded_option_names_its_floor() -> None:
    with pytest.raises(ClientValidationError) as info:
        BulkOptions(concurrency=0)
    assert "concurrency must be an integer of at least 1, got 0" in str(info.value)
    assert "inf" not in str(info.value)
