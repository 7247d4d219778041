"""The bulk engine against the emulator over a real socket, under each injected fault.

Uses the client's add-collection sender (``client.task._chunk_sender``) with the engine, so it
checks the engine end to end before ``add_collection`` is wired; every test asserts from the
emulator's own bookkeeping that each task was committed exactly once and that the result
agrees with the emulator's state.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from batch_tasks_async import BatchClient, SharedKeyCredential, models
from batch_tasks_async._bulk import BulkRetryPolicy, add_tasks
from batch_tasks_async.emulator import EmulatorConfig, FaultConfig, RunningEmulator

ACCOUNT_NAME = "bulkaccount"
ACCOUNT_KEY = base64.b64encode(b"bulk-fault-test-key-0123456789abcd").decode()
EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

pytestmark = pytest.mark.anyio

FAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "task_server_error": {"task_server_error": 0.2},
    "throttle_429": {"throttle_429": 0.3, "retry_after": 0},
    "busy_503": {"busy_503": 0.3, "retry_after": 0},
    "internal_error_500": {"internal_error_500": 0.3},
    "drop_before_commit": {"drop_before_commit": 0.2},
    "drop_after_commit": {"drop_after_commit": 0.2},
    "mixed": {
        "task_server_error": 0.1,
        "throttle_429": 0.1,
        "busy_503": 0.1,
        "internal_error_500": 0.1,
        "drop_before_commit": 0.1,
        "drop_after_commit": 0.1,
        "retry_after": 0,
    },
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_every_task_committed_exactly_once_under_faults(
    emulator_factory: EmulatorFactory, fault: str
) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            jobs=("job-1",),
            faults=FaultConfig(seed=11, **FAULTS[fault]),
        )
    )
    tasks = [{"id": f"task-{i}", "commandLine": "echo hi"} for i in range(1500)]
    policy = BulkRetryPolicy(
        max_attempts=15, max_throttled_attempts=50, backoff_base=0.0, jitter=0.0
    )
    async with BatchClient(
        emulator.url, SharedKeyCredential(emulator.account_name, ACCOUNT_KEY)
    ) as client:
        send = client.task._chunk_sender("job-1")
        result = await add_tasks(send, tasks, concurrency=8, retry_policy=policy)
    values = result.value or []
    assert [r.task_id for r in values] == [t["id"] for t in tasks]
    assert all(r.status == models.TaskAddStatus.SUCCESS for r in values)
    counts = emulator.commit_counts("job-1")
    assert sorted(counts) == sorted(t["id"] for t in tasks)  # none missing, none extra
    assert set(counts.values()) == {1}  # none committed twice
    assert sorted(emulator.task_ids("job-1")) == sorted(counts)
