"""The official azure-batch 15.x SDK against the emulator over a real socket with Shared Key.

azure-batch's Shared Key policy is a plain ``SansIOHTTPPolicy`` that does not insist on TLS,
so the loopback ``http://`` URL works as is (only bearer-token policies refuse plain http).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core import MatchConditions
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError

from batch_tasks_async.emulator import EmulatorConfig, FaultConfig, RunningEmulator

pytestmark = pytest.mark.official_sdk

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

ACCOUNT_NAME = "sdkaccount"
ACCOUNT_KEY = "c2RrLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY="


def sdk_client(emulator: RunningEmulator, key: str | None = None) -> BatchClient:
    credential = AzureNamedKeyCredential(emulator.account_name, key or emulator.account_key or "")
    return BatchClient(endpoint=emulator.url, credential=credential)


def test_official_sdk_full_task_workflow(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=(), lifecycle="manual"
        )
    )
    client = sdk_client(emulator)
    client.create_job(
        m.BatchJobCreateOptions(id="sdk-job", pool_info=m.BatchPoolInfo(pool_id="pool"))
    )
    assert client.get_job("sdk-job").id == "sdk-job"

    to_add = [
        m.BatchTaskCreateOptions(id=f"task-{i:04d}", command_line="echo hi") for i in range(2500)
    ]
    to_add.append(m.BatchTaskCreateOptions(id="fails", command_line="/bin/sh -c 'exit 3'"))
    result = client.create_tasks("sdk-job", to_add, max_concurrency=4)
    assert result.result_values is not None
    assert len(result.result_values) == 2501
    assert {r.status.lower() for r in result.result_values} == {"success"}
    stats = emulator.stats()
    assert stats["tasks_committed"] == 2501
    assert stats["tasks_committed_more_than_once"] == 0

    listed = [t.id for t in client.list_tasks("sdk-job")]
    assert len(listed) == 2501
    assert listed == sorted(listed, key=str.lower)
    assert stats["requests"].get("task_list", 0) == 0  # counted after the stats snapshot
    assert emulator.stats()["requests"]["task_list"] == 3  # 1000 + 1000 + 501 via nextLink

    active = list(client.list_tasks("sdk-job", filter="state eq 'active'", select=["id", "state"]))
    assert len(active) == 2501
    assert active[0].state == m.BatchTaskState.ACTIVE

    task = client.get_task("sdk-job", "task-0001")
    assert task.command_line == "echo hi"
    assert task.constraints is not None
    assert task.constraints.max_task_retry_count == 0

    task.constraints = m.BatchTaskConstraints(max_task_retry_count=2)
    with pytest.raises(ResourceModifiedError):
        client.replace_task(
            "sdk-job", "task-0001", task, etag="0x8D0000000000000",
            match_condition=MatchConditions.IfNotModified,
        )  # fmt: skip
    client.replace_task(
        "sdk-job", "task-0001", task, etag=task.etag, match_condition=MatchConditions.IfNotModified
    )
    updated = client.get_task("sdk-job", "task-0001")
    assert updated.constraints is not None
    assert updated.constraints.max_task_retry_count == 2
    assert updated.etag != task.etag

    client.terminate_task("sdk-job", "task-0001")
    terminated = client.get_task("sdk-job", "task-0001")
    assert terminated.state == m.BatchTaskState.COMPLETED
    assert terminated.execution_info is not None
    assert terminated.execution_info.failure_info is not None
    assert terminated.execution_info.failure_info.code == "TaskEnded"
    client.reactivate_task("sdk-job", "task-0001")
    assert client.get_task("sdk-job", "task-0001").state == m.BatchTaskState.ACTIVE

    emulator.advance_task("sdk-job", "fails", "completed")
    failed = client.get_task("sdk-job", "fails")
    assert failed.execution_info is not None
    assert failed.execution_info.exit_code == 3
    assert failed.execution_info.result == m.BatchTaskExecutionResult.FAILURE
    client.reactivate_task("sdk-job", "fails")

    assert list(client.list_subtasks("sdk-job", "task-0002")) == []
    counts = client.get_job_task_counts("sdk-job")
    assert counts.task_counts.active == 2501

    client.delete_task("sdk-job", "task-0001")
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_task("sdk-job", "task-0001")
    assert info.value.error is not None
    assert info.value.error.code == "TaskNotFound"


def test_official_sdk_wrong_key_is_refused(emulator: RunningEmulator) -> None:
    client = sdk_client(emulator, key="d3Jvbmcta2V5LXdyb25nLWtleQ==")
    with pytest.raises(HttpResponseError) as info:
        client.get_job("job-1")
    assert info.value.status_code == 403
    assert info.value.error is not None
    assert info.value.error.code == "AuthenticationFailed"
    assert sdk_client(emulator).get_job("job-1").id == "job-1"


def test_official_sdk_create_tasks_survives_server_errors(
    emulator_factory: EmulatorFactory,
) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=("job-1",),
            status_casing="lower",
            faults=FaultConfig(seed=1, busy_503=0.2),
        )
    )
    client = sdk_client(emulator)
    to_add = [m.BatchTaskCreateOptions(id=f"t{i}", command_line="x") for i in range(500)]
    client.create_tasks("job-1", to_add)
    stats = emulator.stats()
    assert stats["distinct_tasks_committed"] == 500
    assert stats["tasks_committed_more_than_once"] == 0
    assert stats["faults"]["busy_503"] >= 1


def test_official_sdk_task_files(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME, account_key=ACCOUNT_KEY, jobs=("job-1",), lifecycle="manual"
        )
    )
    client = sdk_client(emulator)
    resource = m.ResourceFile(http_url="https://example.com/in.csv", file_path="data/in.csv")
    client.create_task(
        "job-1",
        m.BatchTaskCreateOptions(id="t", command_line="run --fast", resource_files=[resource]),
    )
    with pytest.raises(HttpResponseError) as info:
        list(client.list_task_files("job-1", "t"))
    assert info.value.status_code == 409
    assert info.value.error is not None
    assert info.value.error.code == "TaskFilesUnavailable"
    emulator.advance_task("job-1", "t", "completed")

    top = {f.name: f for f in client.list_task_files("job-1", "t")}
    assert set(top) == {"stdout.txt", "stderr.txt", "wd"}
    assert top["wd"].is_directory is True
    stdout = top["stdout.txt"]
    assert stdout.properties is not None
    assert stdout.properties.content_length > 0
    assert stdout.properties.file_mode == "0o100644"
    every = [f.name for f in client.list_task_files("job-1", "t", recursive=True)]
    assert "wd/data/in.csv" in every
    only = {f.name for f in client.list_task_files("job-1", "t", filter="startswith(name,'std')")}
    assert only == {"stderr.txt", "stdout.txt"}

    props = client.get_task_file_properties("job-1", "t", "stdout.txt")
    assert props.is_directory is False
    assert props.content_length == stdout.properties.content_length
    # The service sends ocp-batch-file-url percent-encoded and the SDK passes it on as is.
    assert unquote(props.url or "") == f"{emulator.url}/jobs/job-1/tasks/t/files/stdout.txt"
    content = b"".join(client.download_task_file("job-1", "t", "stdout.txt"))
    assert b"run --fast" in content
    assert len(content) == props.content_length
    head = b"".join(client.download_task_file("job-1", "t", "stdout.txt", ocp_range="bytes=0-9"))
    assert head == content[:10]
    assert client.get_task_file_properties("job-1", "t", "wd/data/in.csv").content_length == 0

    client.delete_task_file("job-1", "t", "stdout.txt")
    with pytest.raises(ResourceNotFoundError):
        client.get_task_file_properties("job-1", "t", "stdout.txt")
    client.delete_task_file("job-1", "t", "wd", recursive=True)
    assert [f.name for f in client.list_task_files("job-1", "t", recursive=True)] == ["stderr.txt"]
