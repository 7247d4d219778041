"""HTTP-layer retries (Retry-After, backoff, bounds), idempotent add, and error mapping."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from batch_tasks_async import BatchClient, RetryPolicy, SharedKeyCredential, errors, models
from batch_tasks_async._retry import parse_retry_after

pytestmark = pytest.mark.anyio

ENDPOINT = "https://acct.westus.batch.azure.com"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


def batch_error(status: int, code: str, text: str = "boom", **headers: str) -> httpx.Response:
    body = {
        "odata.metadata": (
            f"{ENDPOINT}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element"
        ),
        "code": code,
        "message": {
            "lang": "en-US",
            "value": f"{text}\nRequestId:rid-1\nTime:2026-11-21T05:00:00.0000000Z",
        },
        "values": [{"key": "Reason", "value": "because"}],
    }
    return httpx.Response(status, json=body, headers={"request-id": "rid-1", **headers})


class Script:
    """Plays one response (or raises one exception) per request and records the requests."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(
    script: Callable[[httpx.Request], httpx.Response], policy: RetryPolicy
) -> tuple[BatchClient, Sleeps]:
    client = BatchClient(
        ENDPOINT,
        SharedKeyCredential("acct", KEY),
        transport=httpx.MockTransport(script),
        retry_policy=policy,
    )
    sleeps = Sleeps()
    client._pipeline.sleep = sleeps
    return client, sleeps


@pytest.mark.parametrize(
    ("response", "expected_wait"),
    [
        (httpx.Response(503, headers={"Retry-After": "7"}), 7.0),
        (httpx.Response(429, headers={"Retry-After": "1.5"}), 1.5),
        (httpx.Response(429, headers={"retry-after-ms": "250"}), 0.25),
        (httpx.Response(503, headers={"Retry-After": "3600"}), 60.0),  # bounded by max_retry_after
    ],
)
async def test_retry_after_is_honoured_within_bounds(
    response: httpx.Response, expected_wait: float
) -> None:
    script = Script(response, httpx.Response(204))
    client, sleeps = client_for(script, RetryPolicy())
    async with client:
        await client.task.terminate("j", "t")
    assert sleeps.waits == [expected_wait]
    ids = {r.headers["client-request-id"] for r in script.requests}
    assert len(script.requests) == 2
    assert len(ids) == 1, "one client-request-id per logical call, reused across retries"


async def test_retry_after_as_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    headers = httpx.Headers({"Retry-After": email.utils.format_datetime(when, usegmt=True)})
    wait = parse_retry_after(headers)
    assert wait is not None
    assert 28 <= wait <= 30


async def test_exponential_backoff_with_jitter_is_bounded() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=5.0, max_attempts=6, total_timeout=None)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (5, 5.0)]:
        for _ in range(20):
            assert 0.0 <= policy.wait_for(errors.ServerError(500), attempt) <= ceiling
    assert (
        policy.without_backoff().wait_for(errors.ServerError(503, retry_after=timedelta(9)), 1)
        == 0.0
    )


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses(status: int) -> None:
    script = Script(httpx.Response(status), httpx.Response(status), httpx.Response(204))
    client, _ = client_for(script, RetryPolicy().without_backoff())
    async with client:
        await client.task.reactivate("j", "t")
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "InvalidPropertyValue", errors.BadRequestError),
        (403, "AuthenticationFailed", errors.AuthenticationError),
        (403, "Forbidden", errors.PermissionDeniedError),
        (404, "TaskNotFound", errors.NotFoundError),
        (409, "TaskCompleted", errors.ConflictError),
        (412, "ConditionNotMet", errors.PreconditionFailedError),
        (413, "RequestBodyTooLarge", errors.RequestBodyTooLargeError),
    ],
)
async def test_client_errors_are_mapped_and_not_retried(
    status: int, code: str, cls: type[errors.ServiceError]
) -> None:
    script = Script(batch_error(status, code, "The specified task does not exist."))
    client, _ = client_for(script, RetryPolicy().without_backoff())
    async with client:
        with pytest.raises(cls) as info:
            await client.task.delete("j", "t", client_request_id="cid-7")
    error = info.value
    assert len(script.requests) == 1
    assert error.status_code == status
    assert error.code == code
    assert error.message.startswith("The specified task does not exist.")
    assert error.values == {"Reason": "because"}
    assert error.request_id == "rid-1"
    assert error.client_request_id == "cid-7"
    assert str(error) == (
        f"({status} {code}) The specified task does not exist. [Reason=because] (request-id: rid-1)"
    )


async def test_not_modified_maps_to_its_own_error() -> None:
    script = Script(httpx.Response(304, headers={"request-id": "r"}))
    client, _ = client_for(script, RetryPolicy())
    async with client:
        with pytest.raises(errors.NotModifiedError):
            await client.task.get("j", "t", if_none_match="0x1")


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(502, text="<html>Bad gateway</html>"), "<html>Bad gateway"),
        (httpx.Response(500, content=b'{"code": "Internal'), "not a Batch error"),
        (httpx.Response(500), "with no body"),
    ],
)
async def test_unreadable_error_bodies_still_give_a_clear_error(
    response: httpx.Response, fragment: str
) -> None:
    script = Script(response)
    client, _ = client_for(script, RetryPolicy.disabled())
    async with client:
        with pytest.raises(errors.ServerError) as info:
            await client.task.get("j", "t")
    assert fragment in str(info.value)
    assert info.value.code is None


async def test_attempts_are_bounded() -> None:
    script = Script(*(httpx.Response(503) for _ in range(3)))
    client, sleeps = client_for(script, RetryPolicy(max_attempts=3))
    async with client:
        with pytest.raises(errors.ServerError):
            await client.task.get("j", "t")
    assert len(script.requests) == 3
    assert len(sleeps.waits) == 2


async def test_total_time_bound_stops_before_a_long_wait() -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "50"}), httpx.Response(204))
    client, sleeps = client_for(script, RetryPolicy(total_timeout=10.0))
    async with client:
        with pytest.raises(errors.ServerError):
            await client.task.terminate("j", "t")
    assert sleeps.waits == []
    assert len(script.requests) == 1


async def test_per_call_policy_overrides_the_client() -> None:
    script = Script(httpx.Response(503))
    client, _ = client_for(script, RetryPolicy().without_backoff())
    async with client:
        with pytest.raises(errors.ServerError):
            await client.task.terminate("j", "t", retry_policy=RetryPolicy.disabled())
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("exception", "cls", "sent"),
    [
        (httpx.ConnectError("refused"), errors.BatchConnectionError, False),
        (httpx.ConnectTimeout("slow connect"), errors.BatchTimeoutError, False),
        (httpx.ReadTimeout("slow read"), errors.BatchTimeoutError, True),
        (httpx.RemoteProtocolError("Server disconnected"), errors.BatchConnectionError, True),
        (httpx.ReadError("reset"), errors.BatchConnectionError, True),
    ],
)
async def test_transport_failures(
    exception: Exception, cls: type[errors.TransportError], sent: bool
) -> None:
    script = Script(exception, exception)
    client, _ = client_for(script, RetryPolicy(max_attempts=2).without_backoff())
    async with client:
        with pytest.raises(cls) as info:
            await client.task.get("j", "t")
    assert info.value.request_sent is sent
    assert info.value.method == "GET"
    assert len(script.requests) == 2


async def test_transport_failure_then_success() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json={"id": "t"}))
    client, _ = client_for(script, RetryPolicy().without_backoff())
    async with client:
        task = await client.task.get("j", "t")
    assert task.id == "t"


def task_exists() -> httpx.Response:
    return batch_error(409, "TaskExists", "The specified task already exists.")


@pytest.mark.parametrize(
    "ambiguous_first",
    [
        httpx.ReadTimeout("timed out after sending"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(500),
        httpx.Response(503),
    ],
)
async def test_add_retried_after_unknown_outcome_treats_task_exists_as_success(
    ambiguous_first: httpx.Response | Exception,
) -> None:
    script = Script(
        ambiguous_first,
        task_exists(),
        httpx.Response(200, json={"id": "t"}, headers={"ETag": "0xE", "request-id": "r2"}),
    )
    client, _ = client_for(script, RetryPolicy().without_backoff())
    async with client:
        meta = await client.task.add("j", models.TaskAddParameter(id="t", command_line="c"))
    assert meta.e_tag == "0xE"
    post1, post2, check = script.requests
    assert post1.headers["client-request-id"] == post2.headers["client-request-id"]
    assert check.method == "GET"
    assert check.url.path == "/jobs/j/tasks/t"


@pytest.mark.parametrize("first", [httpx.ConnectError("refused"), httpx.Response(429)])
async def test_add_task_exists_after_a_certain_failure_is_a_conflict(first: Any) -> None:
    script = Script(first, task_exists())
    client, _ = client_for(script, RetryPolicy().without_backoff())
    async with client:
        with pytest.raises(errors.ConflictError) as info:
            await client.task.add("j", models.TaskAddParameter(id="t", command_line="c"))
    assert info.value.code == "TaskExists"


async def test_add_task_exists_on_first_attempt_is_a_conflict() -> None:
    script = Script(task_exists())
    client, _ = client_for(script, RetryPolicy())
    async with client:
        with pytest.raises(errors.ConflictError):
            await client.task.add("j", {"id": "t", "commandLine": "c"})
    assert len(script.requests) == 1


async def test_service_errors_pickle_round_trip() -> None:
    import pickle

    error = errors.NotFoundError(404, code="TaskNotFound", message="gone", request_id="r")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, errors.NotFoundError)
    assert (copy.code, copy.message, copy.request_id) == ("TaskNotFound", "gone", "r")
