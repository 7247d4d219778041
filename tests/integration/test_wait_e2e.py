"""``wait``, ``watch``, task counts and task files end to end: the emulator over a real socket.

Every test runs on asyncio and on trio. Tasks complete by themselves on the emulator's ``auto``
lifecycle (short, seeded times), so the waits below run while tasks really complete over time.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import TypedDict

import anyio
import pytest

from batch_tasks_async import (
    BatchClient,
    CompletedTask,
    RetryPolicy,
    SharedKeyCredential,
    WaitProgress,
    errors,
    models,
)
from batch_tasks_async.emulator import EmulatorConfig, RunningEmulator

pytestmark = pytest.mark.anyio

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

ACCOUNT_NAME = "waiter"
ACCOUNT_KEY = base64.b64encode(b"wait-end-to-end-test-key-012345").decode()
JOB = "job-1"


class Fast(TypedDict):
    poll_interval: float
    lag_tolerance: float
    timeout: float


#: Poll often (the emulator's tasks complete within a second); never hang a test.
FAST: Fast = {"poll_interval": 0.05, "lag_tolerance": 1.0, "timeout": 60.0}


def start(factory: EmulatorFactory, **config: object) -> RunningEmulator:
    config.setdefault("active_seconds", (0.02, 0.1))
    config.setdefault("running_seconds", (0.05, 0.4))
    return factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=(JOB,),
            **config,  # type: ignore[arg-type]
        )
    )


@asynccontextmanager
async def connect(emulator: RunningEmulator) -> AsyncIterator[BatchClient]:
    async with BatchClient(
        emulator.url,
        SharedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY),
        retry_policy=RetryPolicy(max_attempts=4).without_backoff(),
    ) as client:
        yield client


def tasks(n: int, *, failing: frozenset[int] = frozenset()) -> list[models.TaskAddParameter]:
    return [
        models.TaskAddParameter(
            id=f"task-{i:03d}",
            command_line=f"/bin/sh -c 'exit {3 if i in failing else 0}'",
        )
        for i in range(n)
    ]


async def test_wait_summarises_every_task_and_each_failure(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(emulator_factory)
    progress: list[WaitProgress] = []
    async with connect(emulator) as client:
        await client.task.add_collection(JOB, tasks(60, failing=frozenset({7, 42})))
        summary = await client.task.wait(JOB, on_progress=progress.append, **FAST)
        counts = await client.job.get_task_counts(JOB)
    assert summary.done
    assert (summary.total, summary.succeeded, summary.failed) == (60, 58, 2)
    assert not summary.all_succeeded
    failures = sorted(summary.failures, key=lambda f: f.task_id)
    assert [(f.task_id, f.exit_code) for f in failures] == [("task-007", 3), ("task-042", 3)]
    assert all(f.failure_info is not None for f in failures)
    assert failures[0].failure_info is not None
    assert failures[0].failure_info.code == "FailureExitCode"
    assert counts.task_counts.completed == 60
    assert progress
    assert progress[-1].completed == 60
    # The wait never got a task one by one, and listed tasks far fewer times than it polled.
    per_op = emulator.stats()["requests"]
    assert per_op.get("task_get", 0) == 0
    assert per_op["task_counts"] >= 1


async def test_watch_yields_each_completion_once(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory)
    seen: list[CompletedTask] = []
    async with connect(emulator) as client:
        await client.task.add_collection(JOB, tasks(40, failing=frozenset({3})))
        async with aclosing(client.task.watch(JOB, **FAST)) as completions:
            async for completion in completions:
                seen.append(completion)
    ids = [c.task_id for c in seen]
    assert sorted(ids) == [f"task-{i:03d}" for i in range(40)]
    assert [c.task_id for c in seen if not c.succeeded] == ["task-003"]


async def test_wait_for_given_ids_and_missing_ids(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, lifecycle="manual")
    async with connect(emulator) as client:
        await client.task.add_collection(JOB, tasks(5))
        emulator.advance_task(JOB, "task-001", "completed")
        emulator.advance_task(JOB, "task-003", "completed")
        summary = await client.task.wait(JOB, ["TASK-001", "task-003"], **FAST)
        assert (summary.total, summary.succeeded, summary.done) == (2, 2, True)
        for task_id in ("task-000", "task-002", "task-004"):
            emulator.advance_task(JOB, task_id, "completed")
        with pytest.raises(errors.MissingTasksError) as caught:
            await client.task.wait(JOB, ["task-000", "nope"], **FAST)
    assert caught.value.task_ids == ["nope"]
    assert caught.value.summary.succeeded == 1


async def test_timeout_carries_the_summary_so_far(emulator_factory: EmulatorFactory) -> None:
    emulator = start(emulator_factory, lifecycle="manual")
    async with connect(emulator) as client:
        await client.task.add_collection(JOB, tasks(3))
        emulator.advance_task(JOB, "task-002", "completed")
        with pytest.raises(errors.WaitTimeoutError) as caught:
            await client.task.wait(JOB, poll_interval=0.05, lag_tolerance=1.0, timeout=0.5)
    summary = caught.value.summary
    assert not summary.done
    assert (summary.total, summary.succeeded, summary.pending) == (3, 1, 2)
    assert "1 of 3 completed" in str(caught.value)


async def test_a_missing_or_deleted_job_is_a_typed_error(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(emulator_factory, lifecycle="manual")
    async with connect(emulator) as client:
        with pytest.raises(errors.NotFoundError) as caught:
            await client.task.wait("no-such-job", **FAST)
        assert caught.value.code == "JobNotFound"
        await client.task.add_collection(JOB, tasks(2))

        async def delete_soon() -> None:
            await anyio.sleep(0.2)
            with emulator.store.lock:
                job = emulator.store.get_job(JOB)
                assert job is not None
            emulator.store.delete_job(job)

        gone: list[errors.NotFoundError] = []

        async def wait() -> None:
            try:
                await client.task.wait(JOB, **FAST)
            except errors.NotFoundError as error:
                gone.append(error)

        async with anyio.create_task_group() as group:
            group.start_soon(delete_soon)
            group.start_soon(wait)
    assert [e.code for e in gone] == ["JobNotFound"]


async def test_task_files_end_to_end(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    emulator = start(emulator_factory, lifecycle="instant")
    async with connect(emulator) as client:
        await client.task.add(
            JOB,
            models.TaskAddParameter(
                id="t1",
                command_line="/bin/sh -c 'exit 5'",
                resource_files=[
                    models.ResourceFile(http_url="https://example.com/a", file_path="in/a.txt")
                ],
            ),
        )
        await client.task.wait(JOB, ["t1"], **FAST)
        top = [f.name for f in await client.file.list_from_task(JOB, "t1").to_list()]
        deep = await client.file.list_from_task(JOB, "t1", recursive=True).to_list()
        stdout = await client.file.get_from_task(JOB, "t1", "stdout.txt").read()
        head = await client.file.get_from_task(
            JOB, "t1", "stdout.txt", ocp_range="bytes=0-3"
        ).read()
        props = await client.file.get_properties_from_task(JOB, "t1", "stdout.txt")
        saved = await client.file.get_from_task(JOB, "t1", "stdout.txt").to_path(tmp_path / "o")
        wd = await client.file.get_properties_from_task(JOB, "t1", "wd")
        await client.file.delete_from_task(JOB, "t1", "stderr.txt")
        with pytest.raises(errors.NotFoundError):
            await client.file.get_properties_from_task(JOB, "t1", "stderr.txt")
        with pytest.raises(errors.NotFoundError):
            await client.file.get_from_task(JOB, "t1", "nope.txt").read()
    assert {"stdout.txt", "stderr.txt", "wd"} <= set(top)
    assert any(f.name is not None and f.name.endswith("a.txt") for f in deep)
    assert stdout
    assert head == stdout[:4]
    assert props.content_length == len(stdout)
    assert props.is_directory is False
    assert props.url is not None
    assert props.url.endswith("/files/stdout.txt")
    assert (tmp_path / "o").read_bytes() == stdout
    assert saved.content_type == props.content_type
    assert wd.is_directory is True
