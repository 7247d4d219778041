"""The emulator on a real socket: the runners, dropped connections, delays, a separate process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from batch_tasks_async.emulator import (
    EmulatorConfig,
    EmulatorProcess,
    FaultConfig,
    RunningEmulator,
    run_emulator,
)

EmulatorFactory = Callable[[EmulatorConfig], RunningEmulator]

V = {"api-version": "2025-06-01"}


def body(n: int, prefix: str = "t") -> dict[str, Any]:
    return {"value": [{"id": f"{prefix}{i}", "commandLine": "echo"} for i in range(n)]}


@pytest.mark.anyio
async def test_run_emulator_on_asyncio_and_trio() -> None:
    config = EmulatorConfig(jobs=("job-1",))
    async with run_emulator(config) as emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert emulator.account_name == "emulator"
        assert emulator.account_key is None
        emulator.create_job("job-2")
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            r = await client.post("/jobs/job-2/addtaskcollection", params=V, json=body(50))
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/json;odata=minimalmetadata"
            assert "server" not in r.headers
            assert len(r.headers.get_list("date")) == 1
        assert emulator.stats()["tasks_committed_per_job"] == {"job-2": 50}
        assert set(emulator.commit_counts("job-2").values()) == {1}
        assert emulator.task_ids("job-2")[:3] == ["t0", "t1", "t10"]
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{emulator.url}/_emulator/stats")


def test_drop_is_a_connection_error_not_a_500(emulator_factory: EmulatorFactory) -> None:
    before = emulator_factory(
        EmulatorConfig(jobs=("job-1",), faults=FaultConfig(drop_before_commit=1.0))
    )
    after = emulator_factory(
        EmulatorConfig(jobs=("job-1",), faults=FaultConfig(drop_after_commit=1.0))
    )
    for emulator, committed in ((before, 0), (after, 5)):
        with httpx.Client(base_url=emulator.url) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                client.post("/jobs/job-1/addtaskcollection", params=V, json=body(5))
            # The server keeps serving other requests (and other operations are not faulted).
            assert client.get("/jobs/job-1/tasks", params=V).status_code == 200
        stats = emulator.stats()
        assert stats["tasks_committed"] == committed
        kind = "drop_before_commit" if committed == 0 else "drop_after_commit"
        assert stats["faults"] == {kind: 1}


def test_delay_past_client_timeout_after_commit(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(
        EmulatorConfig(
            jobs=("job-1",),
            faults=FaultConfig(delay_after_commit=1.0, delay_after_commit_seconds=1.0),
        )
    )
    with httpx.Client(base_url=emulator.url, timeout=0.2) as client:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            client.post("/jobs/job-1/addtaskcollection", params=V, json=body(3))
        assert time.monotonic() - start < 0.9
    assert emulator.stats()["tasks_committed"] == 3


def test_emulator_fixture_requires_shared_key(emulator: RunningEmulator) -> None:
    r = httpx.get(f"{emulator.url}/jobs/job-1/tasks", params=V)
    assert r.status_code == 403
    assert r.json()["code"] == "AuthenticationFailed"


def test_separate_process_via_cli() -> None:
    config = EmulatorConfig(jobs=("job-p",), faults=FaultConfig(seed=5, task_server_error=0.0))
    with EmulatorProcess(config) as proc:
        assert proc.url is not None
        r = httpx.post(f"{proc.url}/jobs/job-p/addtaskcollection", params=V, json=body(10))
        assert r.status_code == 200
        stats = proc.stats(per_task=True)
        assert stats["tasks_committed"] == 10
        assert stats["task_commit_counts"]["job-p"]["t3"] == 1
        assert proc.cpu_seconds() >= 0
    assert proc.url is None
