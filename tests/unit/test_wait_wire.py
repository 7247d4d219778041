"""The requests ``client.task.wait`` sends: counts first, filtered and selected listings only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from batch_tasks_async import BatchClient, RetryPolicy, WaitProgress, errors

pytestmark = pytest.mark.anyio

ENDPOINT = "https://acct.westus.batch.azure.com"


def counts(active: int, completed: int, failed: int = 0) -> dict[str, Any]:
    tally = {
        "active": active,
        "running": 0,
        "completed": completed,
        "succeeded": completed - failed,
        "failed": failed,
    }
    return {"taskCounts": tally, "taskSlotCounts": tally}


def task(task_id: str, when: str, exit_code: int = 0) -> dict[str, Any]:
    return {
        "id": task_id,
        "state": "completed",
        "stateTransitionTime": when,
        "executionInfo": {
            "exitCode": exit_code,
            "result": "success" if exit_code == 0 else "failure",
            "retryCount": 0,
            "requeueCount": 0,
        },
    }


class Service:
    """Plays a job of two tasks: t1 completes, then t2 fails."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        params = request.url.params
        if path.endswith("/taskcounts"):
            self.polls += 1
            if self.polls == 1:
                return httpx.Response(200, json=counts(active=1, completed=1))
            return httpx.Response(200, json=counts(active=0, completed=2, failed=1))
        assert path == "/jobs/job-1/tasks", f"unexpected request {request.method} {path}"
        if params["$filter"] == "state ne 'completed'":
            return httpx.Response(200, json={"value": []})
        if params["$filter"].startswith("state ne 'completed' or"):
            assert params["maxresults"] == "1000"
            return httpx.Response(200, json={"value": [task("t2", "2026-01-01T00:00:20Z", 2)]})
        done = [task("t1", "2026-01-01T00:00:10.5Z")]
        if self.polls > 1:
            done.append(task("t2", "2026-01-01T00:00:20Z", exit_code=2))
        return httpx.Response(200, json={"value": done})


def make_client(handler: Any) -> BatchClient:
    return BatchClient(
        ENDPOINT, transport=httpx.MockTransport(handler), retry_policy=RetryPolicy.disabled()
    )


async def test_wait_polls_counts_then_lists_only_what_changed() -> None:
    service = Service()
    progress: list[WaitProgress] = []
    async with make_client(service) as client:
        summary = await client.task.wait(
            "job-1", poll_interval=0.001, lag_tolerance=2, on_progress=progress.append
        )
    assert (summary.total, summary.succeeded, summary.failed, summary.done) == (2, 1, 1, True)
    assert [(f.task_id, f.exit_code) for f in summary.failures] == [("t2", 2)]
    sent = [(r.url.path.rsplit("/", 1)[-1], dict(r.url.params)) for r in service.requests]
    kinds = [
        "counts" if path == "taskcounts" else params["$filter"].split(" and ")[-1]
        for path, params in sent
    ]
    assert kinds == [
        "counts",
        "state eq 'completed'",
        "counts",  # looks done: the exact check, then the last listing
        "state ne 'completed'",
        "state eq 'completed'",  # no watermark yet: it moves once a listing began after t1
        "state ne 'completed' or stateTransitionTime ge datetime'2026-01-01T00:00:10.500000Z'",
    ]  # the last: a confirming snapshot after the last listing
    listing = sent[1][1]
    assert listing["$select"] == "id,state,stateTransitionTime,executionInfo"
    check = sent[3][1]
    assert (check["$select"], check["maxresults"]) == ("id", "1")
    assert progress[-1].completed == 2


async def test_an_unusable_listing_is_a_decode_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/taskcounts"):
            return httpx.Response(200, json=counts(active=1, completed=1))
        return httpx.Response(200, json={"value": [{"id": "t1", "state": "completed"}]})

    async with make_client(handler) as client:
        with pytest.raises(errors.ResponseDecodeError, match="stateTransitionTime"):
            await client.task.wait("job-1", poll_interval=0.001)


async def test_timeout_while_nothing_changes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/taskcounts"):
            return httpx.Response(200, json=counts(active=3, completed=0))
        return httpx.Response(200, json={"value": []})

    async with make_client(handler) as client:
        with pytest.raises(errors.WaitTimeoutError) as caught:
            await client.task.wait("job-1", poll_interval=0.01, timeout=0.05)
    assert caught.value.summary.total == 3
    assert caught.value.timeout == pytest.approx(0.05)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"job_id": ""},
        {"poll_interval": 0},
        {"poll_interval": float("inf")},
        {"timeout": -1},
        {"timeout": True},
        {"task_ids": "t1"},
        {"on_progress": 3},
        {"lag_tolerance": -0.5},
    ],
)
async def test_bad_options_are_refused_before_any_request(kwargs: dict[str, Any]) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    arguments: dict[str, Any] = {"job_id": "job-1", **kwargs}
    job_id = arguments.pop("job_id")
    async with make_client(handler) as client:
        with pytest.raises(errors.ClientValidationError):
            await client.task.wait(job_id, **arguments)
        with pytest.raises(errors.ClientValidationError):
            client.task.watch(job_id, **arguments)
    assert sent == []
