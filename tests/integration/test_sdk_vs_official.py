"""Our SDK and the official azure-batch 15.x SDK see the same emulator state.

The official client is synchronous; each of its calls runs in a worker thread
(``anyio.to_thread.run_sync``) so the event loop of the test (asyncio or trio) stays free.
Its Shared Key policy does not insist on TLS, so the loopback ``http://`` URL works as is.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
import pytest
from azure.batch import BatchClient as OfficialClient
from azure.batch import models as om
from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceModifiedError

from batch_tasks_async import BatchClient, RetryPolicy, SharedKeyCredential, errors, models
from batch_tasks_async.emulator import EmulatorConfig, RunningEmulator

pytestmark = [pytest.mark.anyio, pytest.mark.official_sdk]

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]
T = TypeVar("T")

JOB = "job-1"
ACCOUNT_NAME = "crosscheck"
ACCOUNT_KEY = base64.b64encode(b"sdk-vs-official-test-key-0123456").decode()


@pytest.fixture
def emulator(emulator_factory: EmulatorFactory) -> RunningEmulator:
    """Instant lifecycle: a task is completed as soon as it is read."""
    return emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=(JOB,), lifecycle="instant"
        )
    )


@pytest.fixture
def manual(emulator_factory: EmulatorFactory) -> RunningEmulator:
    """Manual lifecycle: tasks stay active, so they can be updated."""
    return emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=(JOB,), lifecycle="manual"
        )
    )


@asynccontextmanager
async def ours(emulator: RunningEmulator) -> AsyncIterator[BatchClient]:
    async with BatchClient(
        emulator.url,
        SharedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY),
        retry_policy=RetryPolicy().without_backoff(),
    ) as client:
        yield client


def official(emulator: RunningEmulator) -> OfficialClient:
    return OfficialClient(
        endpoint=emulator.url, credential=AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY)
    )


def wire(value: Any) -> Any:
    """Wire JSON of a model of either SDK, with enum values case-folded.

    Our models match enum values case-insensitively and give them back in the spec's
    spelling (``usererror``); the official SDK keeps the service's text (``UserError``).
    """
    data = (
        value.to_dict()
        if isinstance(value, models.CloudTask | models.SubtaskInformation)
        else value.as_dict()
    )
    return _fold(data)


def _fold(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: v.casefold() if k == "category" and isinstance(v, str) else _fold(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_fold(v) for v in data]
    return data


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking official-SDK call in a worker thread."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def test_tasks_created_by_the_official_sdk_are_listed_by_ours(
    emulator: RunningEmulator,
) -> None:
    theirs = official(emulator)
    to_add = [
        om.BatchTaskCreateOptions(id=f"off-{n:02d}", command_line="/bin/sh -c 'exit 0'")
        for n in range(6)
    ]
    to_add.append(om.BatchTaskCreateOptions(id="off-fails", command_line="cmd /c exit 2"))
    created = await in_thread(theirs.create_tasks, JOB, to_add)
    assert created.result_values is not None
    created_etags = {r.task_id: r.etag for r in created.result_values}
    assert {r.status.lower() for r in created.result_values} == {"success"}

    async with ours(emulator) as client:
        listed = await client.task.list(JOB, max_results=4).to_list()
        one = await client.task.get(JOB, "off-fails")
    official_listed = await in_thread(lambda: list(theirs.list_tasks(JOB)))

    assert [t.id for t in listed] == sorted(created_etags)
    assert [t.id for t in listed] == [t.id for t in official_listed]
    assert {t.id: t.e_tag for t in listed} == created_etags
    assert [t.e_tag for t in listed] == [t.etag for t in official_listed]
    assert [t.state for t in listed] == [t.state for t in official_listed]
    assert {t.state for t in listed} == {models.TaskState.COMPLETED}
    assert one.execution_info is not None
    assert one.execution_info.exit_code == 2
    assert one.execution_info.result is models.TaskExecutionResult.FAILURE
    # Same wire JSON, property by property.
    for mine, theirs_task in zip(listed, official_listed, strict=True):
        assert wire(mine) == wire(theirs_task)


async def test_tasks_added_by_ours_are_read_back_identically_by_the_official_sdk(
    emulator: RunningEmulator,
) -> None:
    theirs = official(emulator)
    async with ours(emulator) as client:
        meta = await client.task.add(
            JOB,
            models.TaskAddParameter(
                id="ours-1",
                command_line="/bin/sh -c 'echo $A'",
                display_name="Ours",
                environment_settings=[models.EnvironmentSetting(name="A", value="1")],
                constraints=models.TaskConstraints(
                    max_task_retry_count=2, max_wall_clock_time=timedelta(minutes=5)
                ),
                multi_instance_settings=models.MultiInstanceSettings(
                    number_of_instances=3, coordination_command_line="echo coordinate"
                ),
            ),
        )
        await client.task.add(JOB, models.TaskAddParameter(id="ours-2", command_line="exit 4"))
        got = await client.task.get(JOB, "ours-1", expand="stats")
        listed = await client.task.list(JOB, filter="startswith(id,'ours')").to_list()
        subtasks = await client.task.list_subtasks(JOB, "ours-1").to_list()

    official_task = await in_thread(theirs.get_task, JOB, "ours-1", expand=["stats"])
    official_listed = await in_thread(
        lambda: list(theirs.list_tasks(JOB, filter="startswith(id,'ours')"))
    )
    official_subtasks = await in_thread(lambda: list(theirs.list_subtasks(JOB, "ours-1")))

    assert official_task.etag == meta.e_tag == got.e_tag
    assert official_task.display_name == "Ours"
    assert official_task.command_line == "/bin/sh -c 'echo $A'"
    assert official_task.environment_settings is not None
    assert [(e.name, e.value) for e in official_task.environment_settings] == [("A", "1")]
    assert official_task.constraints is not None
    assert official_task.constraints.max_task_retry_count == 2
    assert official_task.constraints.max_wall_clock_time == timedelta(minutes=5)
    assert official_task.multi_instance_settings is not None
    assert official_task.multi_instance_settings.number_of_instances == 3
    assert official_task.state == om.BatchTaskState.COMPLETED
    assert wire(got) == wire(official_task)
    assert [wire(t) for t in listed] == [wire(t) for t in official_listed]
    assert [s.id for s in subtasks] == [s.id for s in official_subtasks] == [1, 2]
    assert [wire(s) for s in subtasks] == [wire(s) for s in official_subtasks]


async def test_updates_by_either_sdk_are_seen_by_the_other(manual: RunningEmulator) -> None:
    theirs = official(manual)
    async with ours(manual) as client:
        added = await client.task.add(
            JOB, models.TaskAddParameter(id="shared", command_line="sleep 60")
        )

        # Ours updates; the official SDK sees the new constraints and ETag.
        ours_update = await client.task.update(
            JOB,
            "shared",
            constraints=models.TaskConstraints(max_task_retry_count=3),
            if_match=added.e_tag,
        )
        seen = await in_thread(theirs.get_task, JOB, "shared")
        assert ours_update.e_tag != added.e_tag
        assert seen.etag == ours_update.e_tag
        assert seen.constraints is not None
        assert seen.constraints.max_task_retry_count == 3

        # The official SDK updates with our ETag; ours sees its change and new ETag.
        seen.constraints = om.BatchTaskConstraints(
            max_task_retry_count=5, retention_time=timedelta(days=1)
        )
        await in_thread(
            theirs.replace_task,
            JOB,
            "shared",
            seen,
            etag=ours_update.e_tag,
            match_condition=MatchConditions.IfNotModified,
        )
        after = await client.task.get(JOB, "shared")
        official_after = await in_thread(theirs.get_task, JOB, "shared")
        assert after.e_tag == official_after.etag != ours_update.e_tag
        assert after.constraints is not None
        assert after.constraints.max_task_retry_count == 5
        assert after.constraints.retention_time == timedelta(days=1)
        assert wire(after) == wire(official_after)

        # Both refuse the ETag the other made stale.
        with pytest.raises(errors.PreconditionFailedError):
            await client.task.update(
                JOB,
                "shared",
                constraints=models.TaskConstraints(max_task_retry_count=9),
                if_match=ours_update.e_tag,
            )
        with pytest.raises(ResourceModifiedError):
            await in_thread(
                theirs.replace_task,
                JOB,
                "shared",
                official_after,
                etag=added.e_tag,
                match_condition=MatchConditions.IfNotModified,
            )

        # Terminated by the official SDK, seen completed by ours.
        await in_thread(theirs.terminate_task, JOB, "shared")
        terminated = await client.task.get(JOB, "shared")
    assert terminated.state is models.TaskState.COMPLETED
    assert terminated.execution_info is not None
    assert terminated.execution_info.failure_info is not None
    assert terminated.execution_info.failure_info.code == "TaskEnded"
    assert terminated.e_tag != after.e_tag
