"""The driver's own guarantees (stop, input, ids, limiter, attempt bound, counts-only results),
and the single-task ``add``'s TaskExists rule, through ``httpx.MockTransport`` where HTTP
matters."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import orjson
import pytest

from batch_tasks_async import BatchClient, BulkOptions, RetryPolicy, SharedKeyCredential, models
from batch_tasks_async._bulk import BulkRetryPolicy, add_tasks, stream_tasks
from batch_tasks_async._bulk._aimd import Aimd
from batch_tasks_async.errors import (
    ClientValidationError,
    ConflictError,
    CreateTasksError,
    NotFoundError,
    ServerError,
)

pytestmark = pytest.mark.anyio

S = models.TaskAddStatus.SUCCESS
FAST = BulkRetryPolicy.no_backoff()
KEY = "a2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5YWJjZGVm"


def ids_of(body: bytes) -> list[str]:
    return [item["id"] for item in orjson.loads(body)["value"]]


async def ok(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
    return [models.TaskAddResult(status=S, task_id=i) for i in ids_of(body)]


def endless() -> Iterator[dict[str, Any]]:
    i = 0
    while True:
        yield {"id": f"t{i}", "commandLine": "x"}
        i += 1


async def test_deadline_on_an_endless_generator_returns_and_leaves_it_usable() -> None:
    async def slow(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        await anyio.sleep(0.05)
        return await ok(body, client_request_id=client_request_id)

    source = endless()
    with anyio.fail_after(2):
        with pytest.raises(CreateTasksError) as info:
            await add_tasks(slow, source, BulkOptions(deadline=0.3, retry_policy=FAST))
    result = info.value.result
    assert result is not None
    read = len(result.value or [])
    assert [r.task_id for r in result.value or []] == [f"t{i}" for i in range(read)]
    assert next(source)["id"] == f"t{read}"  # nothing read past the stop, not closed
    assert {u.reason for u in info.value.unconfirmed} == {"deadline exceeded"}


async def test_fatal_error_on_an_endless_async_generator_does_not_close_it() -> None:
    async def gone(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        raise NotFoundError(404, code="JobNotFound")

    async def source() -> AsyncGenerator[dict[str, Any], None]:
        for task in endless():
            await anyio.lowlevel.checkpoint()
            yield task

    agen = source()
    with anyio.fail_after(2):
        with pytest.raises(CreateTasksError) as info:
            await add_tasks(gone, agen, BulkOptions(retry_policy=FAST))
    read = len(info.value.result.value or []) if info.value.result else 0
    assert (await agen.__anext__())["id"] == f"t{read}"  # the caller can resume it
    assert all(not u.ambiguous for u in info.value.unconfirmed)
    await agen.aclose()


async def test_ids_are_compared_ordinally_per_character() -> None:
    sent: list[str] = []

    async def record(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        sent.extend(ids_of(body))
        return await ok(body, client_request_id=client_request_id)

    items = [
        {"id": i, "commandLine": "x"} for i in ("straße", "STRASSE", "Strasse", "TASK", "task")
    ]
    result = await add_tasks(record, items, BulkOptions(retry_policy=FAST, raise_on_failure=False))
    assert sent == ["straße", "STRASSE", "TASK"]
    codes = [r.error.code if r.error else None for r in result.value or []]
    assert codes == [None, None, "DuplicateTaskId", None, "DuplicateTaskId"]


async def test_counts_only_keeps_failures_in_input_order() -> None:
    items: list[Any] = [{"id": f"t{i}", "commandLine": "x"} for i in range(250)]
    items[7] = {"id": "nan", "commandLine": "x", "requiredSlots": float("nan")}
    items[99] = {"id": "snake", "command_line": "x"}
    progress: list[Any] = []
    result = await add_tasks(
        ok,
        items,
        BulkOptions(
            retry_policy=FAST,
            return_results=False,
            raise_on_failure=False,
            on_progress=progress.append,
        ),
    )
    assert [(r.task_id, r.error.code if r.error else None) for r in result.value or []] == [
        ("nan", "InvalidRequestBody"),
        ("snake", "InvalidPropertyName"),
    ]
    assert progress[-1].added == 248
    assert progress[-1].failed == 2


async def test_an_attempt_is_bounded_in_total_time() -> None:
    calls = 0

    async def drip(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await anyio.sleep(30)  # a reply that never finishes
        return await ok(body, client_request_id=client_request_id)

    with anyio.fail_after(5):
        result = await add_tasks(
            drip, [{"id": "a", "commandLine": "x"}], BulkOptions(attempt_timeout=0.2)
        )
    assert [r.status for r in result.value or []] == [S]
    assert calls == 2


@pytest.mark.parametrize("retry_after", [timedelta(days=9999), timedelta(seconds=-3)])
async def test_any_retry_after_gives_a_bounded_wait(retry_after: timedelta) -> None:
    waits: list[float] = []
    calls = 0

    async def sleep(delay: float) -> None:
        waits.append(delay)

    async def busy(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ServerError(503, code="ServerBusy", retry_after=retry_after)
        return await ok(body, client_request_id=client_request_id)

    policy = BulkRetryPolicy(sleep=sleep, max_retry_after=7.0)
    await add_tasks(busy, [{"id": "a", "commandLine": "x"}], BulkOptions(retry_policy=policy))
    assert calls == 2
    assert all(0.0 < w <= 7.0 for w in waits)  # a zero wait is no sleep at all


def test_aimd_updates_once_per_round_trip_in_proportion() -> None:
    aimd = Aimd(64)
    aimd.answered(aimd.epoch, 5, 100)  # 5% of a request refused: -2.5%, +0.95
    assert aimd.tokens == 63
    old = aimd.epoch - 1
    for _ in range(20):  # the rest of that round trip's answers
        aimd.answered(old, 5, 100)
    assert aimd.tokens == 63  # counted once, at the next update
    for _ in range(7):  # round trips throttled through and through (429): down to one
        aimd.answered(aimd.epoch, 100, 100)
    assert aimd.tokens == 1
    limits = []
    for _ in range(80):  # clean round trips: +1 each, never above the configured limit
        aimd.answered(aimd.epoch, 0, 100)
        limits.append(aimd.tokens)
    assert limits[-1] == 64
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(limits))
    steady = Aimd(64)
    for _ in range(500):  # 5% throttled in every round trip: it settles near 2 / 0.05
        steady.answered(steady.epoch, 5, 100)
    assert 35 <= steady.tokens <= 40


async def test_sparse_per_task_busy_does_not_collapse_concurrency() -> None:
    answered = 0
    refused_before: set[str] = set()  # each task is refused at most once, so all end added

    async def busy(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        nonlocal answered
        answered += 1
        await anyio.sleep(0.02)  # the service's latency dominates, as it does for real
        out = []
        for n, task_id in enumerate(ids_of(body)):
            refused = task_id not in refused_before and (answered * 7 + n) % 20 == 0  # ~5%
            if refused:
                refused_before.add(task_id)
            out.append(
                models.TaskAddResult(
                    status=models.TaskAddStatus.SERVER_ERROR if refused else S,
                    task_id=task_id,
                    error=models.BatchError(code="ServerBusy") if refused else None,
                )
            )
        return out

    limits: list[int] = []
    stream = stream_tasks(
        busy,
        [{"id": f"t{i}", "commandLine": "x"} for i in range(40_000)],
        BulkOptions(
            concurrency=64,
            retry_policy=FAST,
            on_progress=lambda p: limits.append(p.concurrency_limit),
            progress_interval=0.01,
        ),
    )
    async with stream:
        count = sum([1 async for r in stream if r.status is S])
    assert count == 40_000
    assert min(limits) >= 32  # half of the configured limit at the very least


def client_for(handler: Any) -> BatchClient:
    return BatchClient(
        "https://acct.region.batch.azure.com",
        credential=SharedKeyCredential("acct", KEY),
        transport=httpx.MockTransport(handler),
        retry_policy=RetryPolicy().without_backoff(),
    )


def task_json(created: datetime, command: str = "x") -> bytes:
    return orjson.dumps(
        {
            "id": "t1",
            "eTag": "0x1",
            "creationTime": created.isoformat().replace("+00:00", "Z"),
            "lastModified": created.isoformat().replace("+00:00", "Z"),
            "commandLine": command,
            "state": "active",
        }
    )


@pytest.mark.parametrize(
    ("age", "command", "recovered"),
    [(timedelta(0), "x", True), (timedelta(hours=3), "x", False), (timedelta(0), "y", False)],
)
async def test_single_add_verifies_task_exists_after_an_ambiguous_attempt(
    age: timedelta, command: str, recovered: bool
) -> None:
    posts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        if request.method == "GET":
            return httpx.Response(200, content=task_json(datetime.now(UTC) - age, command))
        posts += 1
        if posts == 1:
            return httpx.Response(500, json={"code": "InternalError", "message": {"value": "x"}})
        return httpx.Response(409, json={"code": "TaskExists", "message": {"value": "exists"}})

    async with client_for(handler) as client:
        if recovered:
            meta = await client.task.add("job-1", {"id": "t1", "commandLine": "x"})
            assert meta.recovered
            assert meta.e_tag == "0x1"
        else:
            with pytest.raises(ConflictError) as info:
                await client.task.add("job-1", {"id": "t1", "commandLine": "x"})
            assert info.value.code == "TaskExists"


@pytest.mark.parametrize(
    ("task", "match"),
    [
        ({"id": "t1", "command_line": "x"}, "commandLine"),
        ({"id": "t1", "commandLine": "x", "requiredSlots": float("inf")}, "NaN or an infinity"),
    ],
)
async def test_single_add_refuses_snake_case_keys_and_non_finite_numbers(
    task: dict[str, Any], match: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    async with client_for(handler) as client:
        with pytest.raises(ClientValidationError, match=match):
            await client.task.add("job-1", task)


@pytest.mark.parametrize(
    "body",
    [b"<html>busy</html>", b'{"value": [', b"", b'{"value": 3}', b"\xff\xfe{}"],
)
async def test_an_unreadable_2xx_answer_is_resent_never_fatal(body: bytes) -> None:
    committed: set[str] = set()
    posts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        posts += 1
        ids = ids_of(request.content)
        committed.update(ids)
        if posts == 1:
            return httpx.Response(200, content=body)
        value = [{"status": "success", "taskId": i} for i in ids]
        return httpx.Response(200, json={"value": value})

    async with client_for(handler) as client:
        result = await client.task.add_collection(
            "job-1", [{"id": f"t{i}", "commandLine": "x"} for i in range(5)], retry_policy=FAST
        )
    assert [r.status for r in result.value or []] == [S] * 5
    assert posts == 2
