"""Streaming many tasks through the engine keeps memory bounded by the concurrency window."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from batch_tasks_async import models
from batch_tasks_async._bulk import BulkOptions, BulkRetryPolicy, stream_tasks

pytestmark = pytest.mark.anyio

S = models.TaskAddStatus.SUCCESS


async def send(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
    return [models.TaskAddResult(status=S, task_id=t["id"]) for t in orjson.loads(body)["value"]]


def generate(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {"id": f"task-{i}", "commandLine": "echo hi"}


async def _peak(n: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = 0
        async with stream_tasks(
            send,
            generate(n),
            BulkOptions(concurrency=4, retry_policy=BulkRetryPolicy.no_backoff()),
        ) as stream:
            async for result in stream:
                count += result.status == S
        assert count == n
        current, peak = tracemalloc.get_traced_memory()
        # What the finished run still holds is its duplicate-id index, and nothing per result.
        held = current - stream._run.ledger._ids.nbytes
        return held, peak
    finally:
        tracemalloc.stop()


async def test_streaming_memory_does_not_grow_with_the_number_of_tasks() -> None:
    small_held, small_peak = await _peak(10_000)
    large_held, large_peak = await _peak(100_000)
    assert large_held < 256 * 1024
    assert small_held < 256 * 1024
    # Ten times the tasks: the peak may only grow by the duplicate-id index (10 to 20 bytes per
    # id; 1.5 MB while it doubles from 0.5 to 1 MB) and the noise of a full result window.
    assert large_peak - small_peak < 1536 * 1024 + 1024 * 1024
    assert large_peak < 6 * 1024 * 1024
