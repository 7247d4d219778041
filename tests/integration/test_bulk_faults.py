"""``add_collection`` / ``stream_add_collection`` against the emulator over a real socket.

Every fault the emulator can inject, alone and mixed. Each test asserts from the emulator's
``/_emulator/stats`` (per-task commit counts) that every task was committed exactly once, none
is missing, and the result the SDK returned agrees with the emulator's state.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from batch_tasks_async import (
    BatchClient,
    BulkProgress,
    BulkRetryPolicy,
    SharedKeyCredential,
    models,
)
from batch_tasks_async.emulator import EmulatorConfig, FaultConfig, RunningEmulator
from batch_tasks_async.errors import CreateTasksError

ACCOUNT_NAME = "bulkaccount"
ACCOUNT_KEY = base64.b64encode(b"bulk-fault-test-key-0123456789abcd").decode()
JOB = "job-1"
EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

pytestmark = pytest.mark.anyio

# Retries without waiting (the emulator's Retry-After is 0), bounded generously enough that
# the seeded fault rates below always end in success.
FAST = BulkRetryPolicy(max_attempts=15, max_throttled_attempts=60, backoff_base=0.0, jitter=0.0)

FAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "task_server_error": {"task_server_error": 0.2},
    "throttle_429": {"throttle_429": 0.3, "retry_after": 0},
    "busy_503": {"busy_503": 0.3, "retry_after": 0},
    "internal_error_500": {"internal_error_500": 0.3},
    "drop_before_commit": {"drop_before_commit": 0.2},
    "drop_after_commit": {"drop_after_commit": 0.2},
    "latency": {"latency_ms": 20.0},
    "rate_limit": {"job_rate_limit": 1000.0, "retry_after": 0},
    "rate_limit_503": {"job_rate_limit": 1000.0, "rate_limit_status": 503, "retry_after": 0},
    "mixed": {
        "task_server_error": 0.1,
        "throttle_429": 0.1,
        "busy_503": 0.1,
        "internal_error_500": 0.1,
        "drop_before_commit": 0.1,
        "drop_after_commit": 0.1,
        "latency_ms": 2.0,
        "retry_after": 0,
    },
}


def start(factory: EmulatorFactory, faults: FaultConfig, **config: Any) -> RunningEmulator:
    return factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=(JOB,),
            faults=faults,
            **config,
        )
    )


def connect(emulator: RunningEmulator, **kwargs: Any) -> BatchClient:
    return BatchClient(emulator.url, SharedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY), **kwargs)


def wire_tasks(count: int, prefix: str = "task") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "commandLine": "echo hi"} for i in range(count)]


def stats(emulator: RunningEmulator) -> dict[str, Any]:
    """The emulator's own bookkeeping, read over HTTP as any tool would."""
    response = httpx.get(
        f"{emulator.url}/_emulator/stats", params={"per_task": "true"}, auth=emulator.http_auth
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def assert_exactly_once(
    emulator: RunningEmulator, expected_ids: list[str], results: list[models.TaskAddResult]
) -> dict[str, Any]:
    """Every task committed once, none missing or extra, and the result agrees."""
    snap = stats(emulator)
    counts: dict[str, int] = snap["task_commit_counts"].get(JOB, {})
    assert sorted(counts) == sorted(expected_ids), "none missing, none extra"
    assert set(counts.values()) == {1}, "none committed twice"
    assert snap["tasks_committed_more_than_once"] == 0
    assert sorted(r.task_id for r in results) == sorted(expected_ids)
    assert all(r.status is models.TaskAddStatus.SUCCESS for r in results)
    assert sorted(emulator.task_ids(JOB)) == sorted(expected_ids)
    return snap


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_add_collection_commits_every_task_exactly_once(
    emulator_factory: EmulatorFactory, fault: str
) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=11, **FAULTS[fault]))
    tasks = wire_tasks(1500)
    progress: list[BulkProgress] = []
    async with connect(emulator) as client:
        result = await client.task.add_collection(
            JOB, tasks, concurrency=8, retry_policy=FAST, on_progress=progress.append
        )
    values = result.value or []
    assert [r.task_id for r in values] == [t["id"] for t in tasks], "input order"
    snap = assert_exactly_once(emulator, [t["id"] for t in tasks], values)
    final = progress[-1]
    assert final.done
    assert final.added + final.already_existed == len(tasks)
    assert final.failed == 0
    if fault not in ("none", "latency"):
        assert snap["faults_total"] > 0, "the fault was really injected"


async def test_stream_add_collection_under_mixed_faults(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=5, **FAULTS["mixed"]))

    async def generate() -> Any:
        for i in range(2000):
            yield models.TaskAddParameter(id=f"s-{i}", command_line=f"render --frame {i}")

    seen: list[models.TaskAddResult] = []
    async with (
        connect(emulator) as client,
        client.task.stream_add_collection(
            JOB, generate(), concurrency=16, retry_policy=FAST
        ) as stream,
    ):
        async for item in stream:
            seen.append(item)
    assert stream.unconfirmed == []
    assert_exactly_once(emulator, [f"s-{i}" for i in range(2000)], seen)


async def test_responses_delayed_past_the_client_timeout(emulator_factory: EmulatorFactory) -> None:
    """The service commits, then answers too late: the client times out, resubmits, and the
    ``TaskExists`` answers for those tasks count as added."""
    emulator = start(
        emulator_factory,
        FaultConfig(seed=3, delay_after_commit=0.3, delay_after_commit_seconds=2.0),
    )
    tasks = wire_tasks(600, "slow")
    async with connect(emulator, network_timeout=0.5) as client:
        result = await client.task.add_collection(JOB, tasks, concurrency=6, retry_policy=FAST)
    snap = assert_exactly_once(emulator, [t["id"] for t in tasks], result.value or [])
    assert snap["faults"].get("delay_after_commit", 0) > 0
    assert snap["duplicate_add_attempts"] > 0, "resubmitted tasks were answered TaskExists"


async def test_small_service_body_limit_forces_splits(emulator_factory: EmulatorFactory) -> None:
    """The client packs 1 MiB bodies; the service takes 8 KiB: 413s split the chunks."""
    emulator = start(emulator_factory, FaultConfig(), max_body_bytes=8192)
    tasks = [{"id": f"big-{i}", "commandLine": "x" * 300} for i in range(400)]
    too_big = {"id": "huge", "commandLine": "y" * 20_000}
    async with connect(emulator) as client:
        result = await client.task.add_collection(
            JOB, [*tasks, too_big], retry_policy=FAST, raise_on_failure=False
        )
    values = result.value or []
    by_id = {r.task_id: r for r in values}
    huge = by_id.pop("huge")
    assert huge.status is models.TaskAddStatus.CLIENT_ERROR
    assert huge.error is not None
    assert huge.error.code == "RequestBodyTooLarge"
    snap = assert_exactly_once(emulator, [t["id"] for t in tasks], list(by_id.values()))
    assert snap["requests"].get("task_add_collection", 0) > 400 // 100


async def test_rerun_with_if_exists_skip_under_faults(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=9, **FAULTS["mixed"]))
    tasks = wire_tasks(800, "rerun")
    async with connect(emulator) as client:
        first = await client.task.add_collection(JOB, tasks[:500], retry_policy=FAST)
        second = await client.task.add_collection(JOB, tasks, retry_policy=FAST, if_exists="skip")
    assert len(first.value or []) == 500
    values = second.value or []
    assert_exactly_once(emulator, [t["id"] for t in tasks], values)
    existed = [r for r in values if r.error is not None and r.error.code == "TaskExists"]
    assert {r.task_id for r in existed} <= {t["id"] for t in tasks[:500]}
    assert len(existed) >= 1


# ----------------------------------------------------------------------------------------------
# Replies the engine must survive (issue 9): each knob alone, asserted from the emulator's state
# ----------------------------------------------------------------------------------------------

# Waits bounded tightly, so a Retry-After of "inf" or "1e20" costs milliseconds here.
HOSTILE = BulkRetryPolicy(
    max_attempts=15, max_throttled_attempts=60, backoff_base=0.0, jitter=0.0, max_retry_after=0.01
)

REPLY_FAULTS: dict[str, dict[str, Any]] = {
    "garbled_body": {"garbled_body": 0.3},
    "omit_result": {"omit_result": 0.2},
    "duplicate_result": {"duplicate_result": 0.3},
    "unknown_status": {"unknown_status": 0.2},
    "commit_late": {"commit_late": 0.2, "commit_late_seconds": 0.6},
    "retry_after_inf": {"throttle_429": 0.3, "retry_after_text": "inf"},
    "retry_after_1e20": {"busy_503": 0.3, "retry_after_text": "1e20"},
    "retry_after_negative": {"throttle_429": 0.3, "retry_after_text": "-5"},
    "retry_after_garbage": {"throttle_429": 0.3, "retry_after_text": "soon, maybe"},
    "retry_after_date": {"throttle_429": 0.3, "retry_after_text": "Wed, 21 Oct 2015 07:28:00 GMT"},
}


@pytest.mark.parametrize("fault", sorted(REPLY_FAULTS))
async def test_every_reply_kind_ends_with_each_task_added_exactly_once(
    emulator_factory: EmulatorFactory, fault: str
) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=21, **REPLY_FAULTS[fault]))
    tasks = wire_tasks(1200, fault)
    async with connect(emulator, network_timeout=0.4) as client:
        result = await client.task.add_collection(
            JOB, tasks, concurrency=8, retry_policy=HOSTILE, attempt_timeout=2.0
        )
    values = result.value or []
    assert [r.task_id for r in values] == [t["id"] for t in tasks], "input order"
    snap = assert_exactly_once(emulator, [t["id"] for t in tasks], values)
    assert snap["faults_total"] > 0, "the fault was really injected"


async def test_entries_always_left_out_end_unconfirmed_and_ambiguous(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=2, omit_result_pattern="lost-1[0-9]"))
    tasks = wire_tasks(300, "lost")
    async with connect(emulator) as client:
        with pytest.raises(CreateTasksError) as info:
            await client.task.add_collection(JOB, tasks, retry_policy=HOSTILE)
    error = info.value
    lost = {f"lost-{i}" for i in range(10, 20)}
    assert {u.task_id for u in error.unconfirmed} == lost
    assert all(u.ambiguous for u in error.unconfirmed), "committed, but never confirmed"
    assert [u.task for u in error.unconfirmed] == [t for t in tasks if t["id"] in lost]
    assert error.failed == []
    assert error.added == 290
    counts = emulator.commit_counts(JOB)
    assert set(counts.values()) == {1}, "resent with the same ids: never added twice"
    assert sorted(counts) == sorted(t["id"] for t in tasks)


async def test_a_poison_task_is_isolated_and_the_rest_added(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=4, poison_task_pattern="p-2345"))
    tasks = wire_tasks(5000, "p")
    async with connect(emulator) as client:
        with pytest.raises(CreateTasksError) as info:
            await client.task.add_collection(JOB, tasks, concurrency=16, retry_policy=FAST)
    error = info.value
    assert [u.task_id for u in error.unconfirmed] == ["p-2345"]
    assert error.unconfirmed[0].ambiguous  # a 500 says nothing of what was done
    assert error.added == 4999
    counts = emulator.commit_counts(JOB)
    assert sorted(counts) == sorted(t["id"] for t in tasks if t["id"] != "p-2345")
    assert set(counts.values()) == {1}


async def test_a_drip_fed_answer_is_cut_off_and_resent(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, FaultConfig(seed=8, drip_feed=0.2, drip_interval=0.2))
    tasks = wire_tasks(800, "drip")
    async with connect(emulator, network_timeout=5.0) as client:
        result = await client.task.add_collection(
            JOB, tasks, concurrency=8, retry_policy=HOSTILE, attempt_timeout=0.5
        )
    snap = assert_exactly_once(emulator, [t["id"] for t in tasks], result.value or [])
    assert snap["faults"].get("drip_feed", 0) > 0


async def test_a_task_that_existed_before_the_run_is_never_reported_added(
    emulator_factory: EmulatorFactory,
) -> None:
    """Every request is ambiguous half the time (500 after commit or not): a task that existed
    before the run is answered TaskExists on the resend, read back, and reported as the
    duplicate it is."""
    emulator = start(
        emulator_factory,
        FaultConfig(seed=6, internal_error_500=0.5, operations=frozenset({"task_add_collection"})),
    )
    tasks = wire_tasks(400, "pre")
    existing = [tasks[i] for i in range(0, 400, 10)]
    async with connect(emulator) as client:
        for task in existing:
            await client.task.add(JOB, task)
        result = await client.task.add_collection(
            JOB, tasks, retry_policy=FAST, raise_on_failure=False
        )
    by_id = {r.task_id: r for r in result.value or []}
    for task in existing:
        entry = by_id[task["id"]]
        assert entry.status is models.TaskAddStatus.CLIENT_ERROR
        assert entry.error is not None
        assert entry.error.code == "TaskExists"
    fresh = [t["id"] for t in tasks if t not in existing]
    assert all(by_id[i].status is models.TaskAddStatus.SUCCESS for i in fresh)
    counts = emulator.commit_counts(JOB)
    assert set(counts.values()) == {1}
    assert sorted(counts) == sorted(t["id"] for t in tasks)


async def test_a_deadline_reads_nothing_more_and_leaves_the_generator_usable(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(emulator_factory, FaultConfig(latency_ms=50.0))

    def endless() -> Any:
        i = 0
        while True:
            yield {"id": f"inf-{i}", "commandLine": "echo"}
            i += 1

    source = endless()
    async with connect(emulator) as client:
        with anyio.fail_after(5):
            with pytest.raises(CreateTasksError) as info:
                await client.task.add_collection(JOB, source, deadline=0.3, retry_policy=FAST)
    error = info.value
    read = len(error.result.value or []) if error.result else 0
    assert next(source)["id"] == f"inf-{read}", "not closed, and nothing read past the stop"
    assert error.added + len(error.unconfirmed) == read
    counts = emulator.commit_counts(JOB)
    committed = set(counts)
    for u in error.unconfirmed:
        assert u.ambiguous or u.task_id not in committed
    assert {r.task_id for r in error.result.value or [] if r.status.value == "success"} <= committed  # type: ignore[union-attr]
