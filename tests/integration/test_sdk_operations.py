"""The SDK's nine Task operations end to end against the emulator over a real socket.

Every test runs on asyncio and on trio. The ``emulator`` fixture uses the ``instant``
lifecycle (a task completes as soon as it is read); tests that need a task to stay ``active``
or ``running`` start a ``manual`` emulator and move tasks with ``advance_task``.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from batch_tasks_async import (
    BatchClient,
    ResponseMetadata,
    RetryPolicy,
    SharedKeyCredential,
    errors,
    models,
)
from batch_tasks_async.emulator import EmulatorConfig, FaultConfig, RunningEmulator

pytestmark = pytest.mark.anyio

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

JOB = "job-1"
ACCOUNT_NAME = "sdkops"
ACCOUNT_KEY = base64.b64encode(b"sdk-operations-test-key-0123456789").decode()
#: Retries at once: the tests observe *that* the SDK retries, not how long it waits.
FAST_RETRIES = RetryPolicy(max_attempts=4).without_backoff()


@asynccontextmanager
async def connect(emulator: RunningEmulator, **kwargs: Any) -> AsyncIterator[BatchClient]:
    """A client signed with the emulator's account key (``kwargs`` go to ``BatchClient``)."""
    kwargs.setdefault("retry_policy", FAST_RETRIES)
    key = emulator.account_key
    assert key is not None
    async with BatchClient(
        emulator.url, SharedKeyCredential(emulator.account_name, key), **kwargs
    ) as client:
        yield client


def task(task_id: str, command_line: str = "/bin/sh -c 'echo hi'", **kw: Any) -> Any:
    return models.TaskAddParameter(id=task_id, command_line=command_line, **kw)


def start(factory: EmulatorFactory, **config: Any) -> RunningEmulator:
    """An emulator with the fixture's account and job, and ``config`` on top."""
    return factory(
        EmulatorConfig(account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=(JOB,), **config)
    )


@pytest.fixture
def manual(emulator_factory: EmulatorFactory) -> RunningEmulator:
    """An emulator whose tasks stay where they are until ``advance_task`` moves them."""
    return start(emulator_factory, lifecycle="manual")


# -- add -------------------------------------------------------------------------------------


async def test_add_returns_the_new_tasks_metadata(emulator: RunningEmulator) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    async with connect(emulator) as client:
        meta = await client.task.add(JOB, task("t1"))
        got = await client.task.get(JOB, "t1")

    assert isinstance(meta, ResponseMetadata)
    assert meta.status_code == 201
    assert meta.e_tag is not None
    assert meta.e_tag.startswith("0x8D")
    assert meta.e_tag == got.e_tag
    assert meta.last_modified is not None
    assert before <= meta.last_modified <= datetime.now(UTC) + timedelta(seconds=1)
    assert got.last_modified is not None
    # Last-Modified has whole seconds; the body's lastModified is finer.
    assert meta.last_modified == got.last_modified.replace(microsecond=0)
    expected_url = f"{emulator.url}/jobs/{JOB}/tasks/t1"
    assert meta.location == expected_url
    assert meta.data_service_id == expected_url
    assert got.url == expected_url
    assert meta.request_id
    assert meta.client_request_id  # the id the SDK made up and sent
    assert emulator.commit_counts(JOB) == {"t1": 1}


async def test_add_accepts_a_wire_mapping(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(
            JOB, {"id": "raw", "commandLine": "echo raw", "displayName": "from a dict"}
        )
        got = await client.task.get(JOB, "raw")
    assert got.command_line == "echo raw"
    assert got.display_name == "from a dict"


async def test_add_an_existing_id_raises_task_exists(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("dup"))
        # Task ids are compared case-insensitively by the service.
        with pytest.raises(errors.ConflictError) as caught:
            await client.task.add(JOB, task("DUP"))

    error = caught.value
    assert error.status_code == 409
    assert error.code == "TaskExists"
    assert error.request_id
    stats = emulator.stats()
    assert stats["tasks_committed"] == 1
    assert stats["duplicate_add_attempts"] == 1
    # A 409 is final: the HTTP layer did not retry it.
    assert stats["requests"]["task_add"] == 2


async def test_add_to_a_missing_job_raises_job_not_found(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        with pytest.raises(errors.NotFoundError) as caught:
            await client.task.add("no-such-job", task("t1"))
    assert caught.value.status_code == 404
    assert caught.value.code == "JobNotFound"
    assert emulator.stats()["tasks_committed"] == 0


async def test_add_an_invalid_task_raises_the_services_bad_request(
    emulator: RunningEmulator,
) -> None:
    async with connect(emulator) as client:
        with pytest.raises(errors.BadRequestError) as caught:
            await client.task.add(JOB, {"id": "bad id with spaces", "commandLine": "x"})
    assert caught.value.code == "InvalidPropertyValue"
    assert caught.value.values["PropertyName"] == "id"


# -- get -------------------------------------------------------------------------------------


async def test_get_returns_the_task_with_service_defaults(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(
            JOB,
            task(
                "full",
                "/bin/sh -c 'exit 0'",
                display_name="Full task",
                environment_settings=[models.EnvironmentSetting(name="A", value="1")],
                constraints=models.TaskConstraints(max_task_retry_count=2),
            ),
        )
        got = await client.task.get(JOB, "full")

    assert got.id == "full"
    assert got.display_name == "Full task"
    assert got.command_line == "/bin/sh -c 'exit 0'"
    assert got.environment_settings == [models.EnvironmentSetting(name="A", value="1")]
    assert got.constraints is not None
    assert got.constraints.max_task_retry_count == 2
    assert got.constraints.retention_time == timedelta(days=7)  # filled-in default
    assert got.required_slots == 1
    # The instant lifecycle completed it with the command line's exit code.
    assert got.state is models.TaskState.COMPLETED
    assert got.previous_state is models.TaskState.RUNNING
    assert got.execution_info is not None
    assert got.execution_info.exit_code == 0
    assert got.execution_info.result is models.TaskExecutionResult.SUCCESS
    assert got.node_info is not None
    assert got.node_info.pool_id == "emulator-pool"
    assert got.stats is None  # not expanded


async def test_get_with_select_returns_only_those_properties(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("sel", display_name="hidden"))
        got = await client.task.get(JOB, "sel", select=["id", "state"])

    assert got.id == "sel"
    assert got.state is models.TaskState.COMPLETED
    assert got.display_name is None
    assert got.command_line is None
    assert got.e_tag is None
    assert got.constraints is None
    assert got.execution_info is None


async def test_get_with_expand_stats(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("st"))
        got = await client.task.get(JOB, "st", expand="stats")
        plain = await client.task.get(JOB, "st", expand=[])

    assert got.stats is not None
    assert got.stats.url == f"{emulator.url}/jobs/{JOB}/tasks/st"
    assert got.stats.user_cpu_time == timedelta(0)
    assert got.stats.wall_clock_time is not None
    assert got.stats.wall_clock_time >= timedelta(0)
    assert plain.stats is None


async def test_get_stats_int64_counters_are_ints(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("io"))
        got = await client.task.get(JOB, "io", expand="stats")
    assert got.stats is not None
    assert isinstance(got.stats.read_iops, int)
    assert isinstance(got.stats.write_iops, int)


async def test_get_a_missing_task_or_job_raises_not_found(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        with pytest.raises(errors.NotFoundError) as missing_task:
            await client.task.get(JOB, "nope")
        with pytest.raises(errors.NotFoundError) as missing_job:
            await client.task.get("no-such-job", "nope")
    assert missing_task.value.code == "TaskNotFound"
    assert missing_job.value.code == "JobNotFound"
    # 404 is not retried.
    assert emulator.stats()["requests"]["task_get"] == 2


async def test_get_if_none_match_current_etag_raises_not_modified(
    emulator: RunningEmulator,
) -> None:
    async with connect(emulator) as client:
        meta = await client.task.add(JOB, task("cond"))
        assert meta.e_tag is not None
        with pytest.raises(errors.NotModifiedError) as caught:
            await client.task.get(JOB, "cond", if_none_match=meta.e_tag)
        fresh = await client.task.get(JOB, "cond", if_none_match="0x8D0000000000000")
    assert caught.value.status_code == 304
    assert fresh.e_tag == meta.e_tag


# -- list ------------------------------------------------------------------------------------


async def test_list_filters_by_state_id_and_prefix(manual: RunningEmulator) -> None:
    async with connect(manual) as client:
        for task_id in ("alpha-1", "alpha-2", "beta-1", "beta-2"):
            await client.task.add(JOB, task(task_id))
        manual.advance_task(JOB, "alpha-2", "running")
        manual.advance_task(JOB, "beta-1", "completed")

        async def ids(**kwargs: Any) -> list[str | None]:
            return [t.id async for t in client.task.list(JOB, **kwargs)]

        assert await ids() == ["alpha-1", "alpha-2", "beta-1", "beta-2"]
        assert await ids(filter="state eq 'completed'") == ["beta-1"]
        assert await ids(filter="state eq 'active'") == ["alpha-1", "beta-2"]
        assert await ids(filter="id eq 'beta-2'") == ["beta-2"]
        assert await ids(filter="startswith(id, 'alpha')") == ["alpha-1", "alpha-2"]
        assert await ids(filter="startswith(id,'alpha') and state eq 'running'") == ["alpha-2"]
        assert await ids(filter="id eq 'nothing'") == []

        selected = await client.task.list(JOB, select=["id", "state"]).to_list()
    assert [(t.id, t.state) for t in selected] == [
        ("alpha-1", models.TaskState.ACTIVE),
        ("alpha-2", models.TaskState.RUNNING),
        ("beta-1", models.TaskState.COMPLETED),
        ("beta-2", models.TaskState.ACTIVE),
    ]
    assert all(t.e_tag is None and t.command_line is None for t in selected)


async def test_list_rejects_an_invalid_filter_with_the_services_error(
    emulator: RunningEmulator,
) -> None:
    async with connect(emulator) as client:
        with pytest.raises(errors.BadRequestError) as caught:
            await client.task.list(JOB, filter="state eq").to_list()
    assert caught.value.code == "InvalidQueryParameterValue"
    assert caught.value.values["QueryParameterName"] == "$filter"


async def test_list_follows_next_links_across_pages(emulator: RunningEmulator) -> None:
    ids = [f"task-{n:02d}" for n in range(7)] + ["other-1", "other-2"]
    async with connect(emulator) as client:
        for task_id in ids:
            await client.task.add(JOB, task(task_id))

        pager = client.task.list(
            JOB, filter="startswith(id,'task-')", select="id,state", max_results=3
        )
        pages = [page async for page in pager.pages()]
        items = await pager.to_list()

    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert all(p.next_link for p in pages[:-1])
    assert pages[-1].next_link is None
    assert all(p.request_id for p in pages)
    assert [t.id for p in pages for t in p.items] == ids[:7]
    assert [t.id for t in items] == ids[:7]
    # $filter and $select are kept on every page the next link leads to.
    assert all(t.command_line is None for t in items)
    assert emulator.stats()["requests"]["task_list"] == 6  # 3 pages, listed twice


async def test_list_resumes_from_a_continuation_token(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        for n in range(5):
            await client.task.add(JOB, task(f"r{n}"))
        pager = client.task.list(JOB, max_results=2)
        first = await anext(pager.pages())
        assert first.next_link is not None
        rest = [t.id async for p in pager.pages(first.next_link) for t in p.items]
    assert [t.id for t in first.items] == ["r0", "r1"]
    assert rest == ["r2", "r3", "r4"]


async def test_list_stops_fetching_when_the_loop_breaks(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        for n in range(6):
            await client.task.add(JOB, task(f"e{n}"))
        seen: list[str | None] = []
        async for item in client.task.list(JOB, max_results=2):
            seen.append(item.id)
            if len(seen) == 3:
                break
        # The client is still usable afterwards (nothing was left half-read).
        assert (await client.task.get(JOB, "e5")).id == "e5"
    assert seen == ["e0", "e1", "e2"]
    assert emulator.stats()["requests"]["task_list"] == 2


# -- list subtasks ---------------------------------------------------------------------------


async def test_list_subtasks_of_a_multi_instance_task(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(
            JOB,
            task(
                "mpi",
                "mpirun app",
                multi_instance_settings=models.MultiInstanceSettings(
                    number_of_instances=3, coordination_command_line="echo coordinate"
                ),
            ),
        )
        await client.task.add(JOB, task("single"))
        subtasks = await client.task.list_subtasks(JOB, "mpi").to_list()
        none = await client.task.list_subtasks(JOB, "single").to_list()
        selected = await client.task.list_subtasks(JOB, "mpi", select=["id"]).to_list()

    assert [s.id for s in subtasks] == [1, 2]
    assert all(s.state is models.SubtaskState.COMPLETED for s in subtasks)
    assert all(s.exit_code == 0 for s in subtasks)
    assert [s.node_info.node_id for s in subtasks if s.node_info] == [
        "emulator-node-1",
        "emulator-node-2",
    ]
    assert none == []
    assert [(s.id, s.state) for s in selected] == [(1, None), (2, None)]


async def test_list_subtasks_of_a_missing_task(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        with pytest.raises(errors.NotFoundError) as caught:
            await client.task.list_subtasks(JOB, "ghost").to_list()
    assert caught.value.code == "TaskNotFound"


# -- update ----------------------------------------------------------------------------------


async def test_update_with_if_match_replaces_constraints(manual: RunningEmulator) -> None:
    async with connect(manual) as client:
        await client.task.add(JOB, task("upd"))
        before = await client.task.get(JOB, "upd")
        assert before.constraints is not None
        assert before.constraints.max_task_retry_count == 0

        meta = await client.task.update(
            JOB,
            "upd",
            constraints=models.TaskConstraints(
                max_task_retry_count=3, max_wall_clock_time=timedelta(hours=1)
            ),
            if_match=before.e_tag,
        )
        after = await client.task.get(JOB, "upd")

        # The old ETag is stale now.
        with pytest.raises(errors.PreconditionFailedError) as caught:
            await client.task.update(
                JOB,
                "upd",
                models.TaskUpdateParameter(
                    constraints=models.TaskConstraints(max_task_retry_count=9)
                ),
                if_match=before.e_tag,
            )
        unchanged = await client.task.get(JOB, "upd")

    assert meta.status_code == 200
    assert meta.e_tag is not None
    assert meta.e_tag != before.e_tag
    assert after.e_tag == meta.e_tag
    assert after.constraints is not None
    assert after.constraints.max_task_retry_count == 3
    assert after.constraints.max_wall_clock_time == timedelta(hours=1)
    assert meta.data_service_id == f"{manual.url}/jobs/{JOB}/tasks/upd"
    assert caught.value.status_code == 412
    assert caught.value.code == "ConditionNotMet"
    assert unchanged.e_tag == meta.e_tag
    assert unchanged.constraints == after.constraints


async def test_update_a_completed_task_is_refused(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("done"))
        with pytest.raises(errors.ConflictError) as caught:
            await client.task.update(
                JOB, "done", constraints=models.TaskConstraints(max_task_retry_count=1)
            )
    assert caught.value.code == "TaskCompleted"


# -- terminate and reactivate ----------------------------------------------------------------


async def test_terminate_completes_a_running_task(manual: RunningEmulator) -> None:
    async with connect(manual) as client:
        added = await client.task.add(JOB, task("term", "sleep 1000"))
        manual.advance_task(JOB, "term", "running")
        meta = await client.task.terminate(JOB, "term")
        got = await client.task.get(JOB, "term")
        with pytest.raises(errors.ConflictError) as again:
            await client.task.terminate(JOB, "term")

    assert meta.status_code == 204
    assert meta.e_tag is not None
    assert meta.e_tag != added.e_tag
    assert got.e_tag == meta.e_tag
    assert got.state is models.TaskState.COMPLETED
    assert got.previous_state is models.TaskState.RUNNING
    assert got.execution_info is not None
    assert got.execution_info.failure_info is not None
    assert got.execution_info.failure_info.code == "TaskEnded"
    assert again.value.status_code == 409
    assert again.value.code == "TaskCompleted"


async def test_reactivate_a_failed_task_makes_it_active(manual: RunningEmulator) -> None:
    async with connect(manual) as client:
        await client.task.add(JOB, task("fails", "/bin/sh -c 'exit 3'"))
        manual.advance_task(JOB, "fails", "completed")
        failed = await client.task.get(JOB, "fails")
        meta = await client.task.reactivate(JOB, "fails", if_match=failed.e_tag)
        got = await client.task.get(JOB, "fails")

    assert failed.state is models.TaskState.COMPLETED
    assert failed.execution_info is not None
    assert failed.execution_info.exit_code == 3
    assert failed.execution_info.result is models.TaskExecutionResult.FAILURE
    assert failed.execution_info.failure_info is not None
    assert failed.execution_info.failure_info.code == "FailureExitCode"
    assert meta.status_code == 204
    assert got.state is models.TaskState.ACTIVE
    assert got.e_tag == meta.e_tag != failed.e_tag
    assert got.execution_info is not None
    assert got.execution_info.exit_code is None
    assert got.execution_info.failure_info is None


async def test_reactivate_is_refused_for_succeeded_and_unfinished_tasks(
    manual: RunningEmulator,
) -> None:
    async with connect(manual) as client:
        await client.task.add(JOB, task("ok", "/bin/sh -c 'exit 0'"))
        await client.task.add(JOB, task("busy"))
        manual.advance_task(JOB, "ok", "completed")
        with pytest.raises(errors.ConflictError) as succeeded:
            await client.task.reactivate(JOB, "ok")
        with pytest.raises(errors.ConflictError) as active:
            await client.task.reactivate(JOB, "busy")
        still = await client.task.get(JOB, "ok")

    assert succeeded.value.code == "OperationInvalidForCurrentState"
    assert active.value.code == "OperationInvalidForCurrentState"
    assert still.state is models.TaskState.COMPLETED


# -- delete ----------------------------------------------------------------------------------


async def test_delete_removes_the_task(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("gone"))
        await client.task.add(JOB, task("kept"))
        meta = await client.task.delete(JOB, "gone")
        with pytest.raises(errors.NotFoundError) as get_after:
            await client.task.get(JOB, "gone")
        with pytest.raises(errors.NotFoundError) as delete_again:
            await client.task.delete(JOB, "gone")
        remaining = [t.id async for t in client.task.list(JOB)]

    assert meta.status_code == 200
    assert get_after.value.code == "TaskNotFound"
    assert delete_again.value.code == "TaskNotFound"
    assert remaining == ["kept"]


async def test_delete_with_a_stale_etag_is_refused(manual: RunningEmulator) -> None:
    async with connect(manual) as client:
        first = await client.task.add(JOB, task("guarded"))
        await client.task.update(
            JOB, "guarded", constraints=models.TaskConstraints(max_task_retry_count=1)
        )
        with pytest.raises(errors.PreconditionFailedError):
            await client.task.delete(JOB, "guarded", if_match=first.e_tag)
        assert (await client.task.get(JOB, "guarded")).id == "guarded"


# -- add collection --------------------------------------------------------------------------


async def test_add_collection_adds_every_task(emulator: RunningEmulator) -> None:
    async with connect(emulator) as client:
        await client.task.add(JOB, task("c-existing"))
        tasks = [task(f"c-{n}") for n in range(5)] + [task("c-existing")]
        result = await client.task.add_collection(JOB, tasks, raise_on_failure=False)
        with pytest.raises(errors.CreateTasksError) as info:
            await client.task.add_collection(JOB, [task("c-existing")])
        listed = [t.id async for t in client.task.list(JOB, filter="startswith(id,'c-')")]

    results = result.value or []
    assert [r.task_id for r in results] == [t.id for t in tasks], "input order"
    by_id = {r.task_id: r for r in results}
    for n in range(5):
        assert by_id[f"c-{n}"].status is models.TaskAddStatus.SUCCESS
        assert by_id[f"c-{n}"].e_tag
    existing = by_id["c-existing"]
    assert existing.status is models.TaskAddStatus.CLIENT_ERROR
    assert existing.error is not None
    assert existing.error.code == "TaskExists"
    assert [r.task_id for r in info.value.failed] == ["c-existing"]
    assert info.value.unconfirmed == []
    assert info.value.added == 0
    assert sorted(listed, key=str) == sorted(t.id for t in tasks)
    assert set(emulator.commit_counts(JOB).values()) == {1}


# -- authentication and request ids ----------------------------------------------------------


async def test_a_wrong_account_key_raises_authentication_error(
    emulator: RunningEmulator,
) -> None:
    wrong = SharedKeyCredential(emulator.account_name, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZw==")
    async with BatchClient(emulator.url, wrong, retry_policy=FAST_RETRIES) as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.task.add(JOB, task("t1"))
        with pytest.raises(errors.AuthenticationError):
            await client.task.list(JOB).to_list()
    assert caught.value.status_code == 403
    assert caught.value.code == "AuthenticationFailed"
    assert "AuthenticationErrorDetail" in caught.value.values
    # The key never appears in what the error says.
    assert "d3Jvbmcta2V5" not in str(caught.value)
    assert emulator.stats()["tasks_committed"] == 0


async def test_return_client_request_id_is_echoed(emulator: RunningEmulator) -> None:
    echoed: list[str | None] = []

    async def record(response: httpx.Response) -> None:
        echoed.append(response.headers.get("client-request-id"))

    request_id = str(uuid.uuid4())
    async with (
        httpx.AsyncClient(event_hooks={"response": [record]}) as http,
        connect(emulator, http_client=http) as client,
    ):
        meta = await client.task.add(
            JOB, task("echo"), client_request_id=request_id, return_client_request_id=True
        )
        await client.task.get(JOB, "echo", client_request_id=request_id)
        await client.task.get(
            JOB, "echo", client_request_id=request_id, return_client_request_id=True
        )
        with pytest.raises(errors.NotFoundError) as caught:
            await client.task.get(
                JOB, "nope", client_request_id=request_id, return_client_request_id=True
            )

    assert meta.client_request_id == request_id
    assert echoed == [request_id, None, request_id, request_id]
    assert caught.value.client_request_id == request_id


# -- retries through emulator faults ---------------------------------------------------------


async def test_add_retried_after_a_drop_after_commit_commits_once(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(
        emulator_factory,
        faults=FaultConfig(operations=frozenset({"task_add"}), drop_after_commit=1.0),
    )
    async with connect(emulator) as client:
        meta = await client.task.add(JOB, task("once"))
        got = await client.task.get(JOB, "once")

    # The connection dropped after the commit; the retry was answered TaskExists, which this
    # very call caused, so add succeeded and reports the task's real ETag.
    assert meta.e_tag == got.e_tag
    stats = emulator.stats(per_task=True)
    assert stats["faults"] == {"drop_after_commit": 1}
    assert stats["requests"]["task_add"] == 2
    assert stats["tasks_committed"] == 1
    assert stats["duplicate_add_attempts"] == 1
    assert stats["tasks_committed_more_than_once"] == 0
    assert emulator.commit_counts(JOB) == {"once": 1}


async def test_add_without_retries_reports_the_ambiguous_drop(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(
        emulator_factory,
        faults=FaultConfig(operations=frozenset({"task_add"}), drop_after_commit=1.0),
    )
    async with connect(emulator, retry_policy=RetryPolicy.disabled()) as client:
        with pytest.raises(errors.BatchConnectionError) as caught:
            await client.task.add(JOB, task("maybe"))
    assert caught.value.request_sent is True
    assert caught.value.client_request_id
    assert emulator.commit_counts(JOB) == {"maybe": 1}


async def test_get_retries_a_429_honouring_retry_after(
    emulator_factory: EmulatorFactory,
) -> None:
    # Seed 1 draws 0.13 then 0.85: the first get is throttled, the second is served.
    emulator = start(
        emulator_factory,
        faults=FaultConfig(
            seed=1, operations=frozenset({"task_get"}), throttle_429=0.5, retry_after=1
        ),
    )
    # Retry-After (1 s) is honoured, capped by max_retry_after to keep the test fast.
    policy = RetryPolicy(max_attempts=3, max_retry_after=0.2)
    async with connect(emulator, retry_policy=policy) as client:
        await client.task.add(JOB, task("thr"))
        began = time.monotonic()
        got = await client.task.get(JOB, "thr")
        waited = time.monotonic() - began

    assert got.id == "thr"
    assert waited >= 0.15  # event loops may wake a clock tick early
    stats = emulator.stats()
    assert stats["faults"] == {"throttle_429": 1}
    assert stats["requests"]["task_get"] == 2


async def test_list_retries_a_503_server_busy(emulator_factory: EmulatorFactory) -> None:
    emulator = start(
        emulator_factory,
        faults=FaultConfig(seed=1, operations=frozenset({"task_list"}), busy_503=0.5),
    )
    async with connect(emulator) as client:
        for n in range(3):
            await client.task.add(JOB, task(f"l{n}"))
        listed = [t.id async for t in client.task.list(JOB)]

    assert listed == ["l0", "l1", "l2"]
    stats = emulator.stats()
    assert stats["faults"] == {"busy_503": 1}
    assert stats["requests"]["task_list"] == 2


async def test_throttling_surfaces_when_retries_are_off(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(
        emulator_factory,
        faults=FaultConfig(
            operations=frozenset({"task_get", "task_list"}), throttle_429=1.0, retry_after=7
        ),
    )
    async with connect(emulator, retry_policy=RetryPolicy.disabled()) as client:
        await client.task.add(JOB, task("any"))
        with pytest.raises(errors.ThrottledError) as on_get:
            await client.task.get(JOB, "any")
        with pytest.raises(errors.ThrottledError) as on_list:
            await client.task.list(JOB).to_list()
    for caught in (on_get, on_list):
        assert caught.value.status_code == 429
        assert caught.value.code == "TooManyRequests"
        assert caught.value.retry_after == timedelta(seconds=7)


async def test_add_of_an_existing_id_after_a_503_still_raises_task_exists(
    emulator_factory: EmulatorFactory,
) -> None:
    # Seed 10 draws 0.57, 0.43, 0.58 for busy_503=0.5: the first add succeeds, the second
    # (a genuine duplicate) is answered 503 ServerBusy before anything is looked at, and its
    # retry is answered 409 TaskExists.
    emulator = start(
        emulator_factory,
        faults=FaultConfig(seed=10, operations=frozenset({"task_add"}), busy_503=0.5),
    )
    async with connect(emulator) as client:
        await client.task.add(JOB, task("mine", "echo first"))
        with pytest.raises(errors.ConflictError):
            await client.task.add(JOB, task("mine", "echo second, a different task"))
    assert emulator.stats()["faults"] == {"busy_503": 1}


async def test_a_recovered_add_reports_the_same_metadata_as_a_plain_add(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(
        emulator_factory,
        faults=FaultConfig(operations=frozenset({"task_add"}), drop_after_commit=1.0),
    )
    async with connect(emulator) as client:
        meta = await client.task.add(JOB, task("rec"))
        fresh = await client.task.get(JOB, "rec")
    assert meta.recovered
    assert meta.status_code == 201
    assert meta.location == f"{emulator.url}/jobs/{JOB}/tasks/rec"
    assert meta.e_tag == fresh.e_tag


async def test_terminate_retried_after_a_drop_after_commit_succeeds(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(
        emulator_factory,
        lifecycle="manual",
        faults=FaultConfig(operations=frozenset({"task_terminate"}), drop_after_commit=1.0),
    )
    async with connect(emulator) as client:
        await client.task.add(JOB, task("t"))
        meta = await client.task.terminate(JOB, "t")
        got = await client.task.get(JOB, "t")
    assert meta.recovered
    assert meta.status_code == 204
    assert got.state is models.TaskState.COMPLETED


async def test_delete_retried_after_a_drop_after_commit_succeeds(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = start(
        emulator_factory,
        faults=FaultConfig(operations=frozenset({"task_delete"}), drop_after_commit=1.0),
    )
    async with connect(emulator) as client:
        await client.task.add(JOB, task("d"))
        await client.task.delete(JOB, "d")
        assert [t.id async for t in client.task.list(JOB)] == []
