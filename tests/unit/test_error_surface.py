"""One error surface: every reply a public call cannot use becomes a typed SDK error.

Each malformed-reply kind is played to ``get``, ``list`` and a bodiless operation, and the
test asserts that the exception is in the ``errors`` tree (and which one).
"""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from batch_tasks_async import BatchClient, RetryPolicy, SharedKeyCredential, errors, models

pytestmark = pytest.mark.anyio

ENDPOINT = "https://acct.westus.batch.azure.com"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
TASK = {"id": "t1", "state": "completed", "commandLine": "x"}


def client_for(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> BatchClient:
    kwargs.setdefault("retry_policy", RetryPolicy(max_attempts=2).without_backoff())
    return BatchClient(
        ENDPOINT, SharedKeyCredential("acct", KEY), transport=httpx.MockTransport(handler), **kwargs
    )


def reply(status: int = 200, **kwargs: Any) -> Callable[[httpx.Request], httpx.Response]:
    kwargs.setdefault("headers", {})
    kwargs["headers"].setdefault("request-id", "rid-7")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **kwargs)

    return handler


def task_with(**members: Any) -> dict[str, Any]:
    return {**TASK, **members}


# (name, reply to a get, reply to a list page)
MALFORMED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("html page", {"content": b"<html>gateway</html>"}, {"content": b"<html>gateway</html>"}),
    ("truncated JSON", {"content": b'{"id": "t1", "sta'}, {"content": b'{"value": [{"id"'}),
    ("empty body", {"content": b""}, {"content": b""}),
    ("bad UTF-8", {"content": b'{"id": "t\xff\xfe"}'}, {"content": b'{"value": ["\xff"]}'}),
    ("array not object", {"json": [TASK]}, {"json": [TASK]}),
    ("string not object", {"json": "t1"}, {"json": "t1"}),
    ("wrong member type", {"json": task_with(state=5)}, {"json": {"value": "t1"}}),
    (
        "nested wrong type",
        {"json": task_with(executionInfo=[1, 2])},
        {"json": {"value": [task_with(constraints="PT1H")]}},
    ),
    (
        "containerSettings without imageName",
        {"json": task_with(containerSettings={"containerRunOptions": "-m 1g"})},
        {"json": {"value": [task_with(containerSettings={"registry": {}})]}},
    ),
    (
        "exit code mapping without exitOptions",
        {"json": task_with(exitConditions={"exitCodes": [{"code": 1}]})},
        {"json": {"value": [task_with(exitConditions={"exitCodes": [{"code": 1}]})]}},
    ),
    (
        "deep member wrong type",
        {"json": task_with(executionInfo={"failureInfo": {"details": [{"name": 5}]}})},
        {"json": {"value": [task_with(stats={"startTime": 5})]}},
    ),
    ("bad datetime", {"json": task_with(creationTime="yesterday")}, {"json": {"value": [5]}}),
    (
        "bad gzip encoding",
        {"stream": httpx.ByteStream(b"not gzip"), "headers": {"content-encoding": "gzip"}},
        {"stream": httpx.ByteStream(b"not gzip"), "headers": {"content-encoding": "gzip"}},
    ),
    (
        "next link not a string",
        {"json": task_with(executionInfo="x")},
        {"json": {"value": [], "odata.nextLink": 7}},
    ),
]


@pytest.mark.parametrize(
    ("kind", "get_reply", "list_reply"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
async def test_unusable_get_and_list_replies_are_typed(
    kind: str, get_reply: dict[str, Any], list_reply: dict[str, Any]
) -> None:
    async with client_for(reply(**get_reply)) as client:
        with pytest.raises(errors.ResponseDecodeError) as info:
            await client.task.get("job-1", "t1")
    error = info.value
    assert error.status_code == 200
    assert error.request_id == "rid-7"
    assert error.client_request_id
    assert error.reason
    async with client_for(reply(**list_reply)) as client:
        with pytest.raises(errors.ResponseDecodeError) as info:
            await client.task.list("job-1").to_list()
    assert info.value.request_id == "rid-7"


async def test_a_good_gzip_reply_is_read() -> None:
    body = gzip.compress(b'{"id": "t1"}')
    handler = reply(content=body, headers={"content-encoding": "gzip"})
    async with client_for(handler) as client:
        task = await client.task.get("job-1", "t1")
    assert task.id == "t1"


async def test_error_reply_that_is_not_json_is_a_service_error() -> None:
    async with client_for(reply(502, content=b"\xff\xfe<html>")) as client:
        with pytest.raises(errors.ServerError) as info:
            await client.task.terminate("job-1", "t1")
    assert "not a Batch error" in str(info.value)


@pytest.mark.parametrize("value", ["1e20", "inf", "nan", "-1", "soon", "9" * 400])
async def test_any_retry_after_is_survived(value: str) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, headers={"Retry-After": value})

    async with client_for(handler) as client:
        client._pipeline.sleep = _no_sleep
        with pytest.raises(errors.ServerError) as info:
            await client.task.terminate("job-1", "t1")
    assert calls == 2
    retry_after = info.value.retry_after
    assert retry_after is None or retry_after.total_seconds() <= 86400


async def _no_sleep(seconds: float) -> None:
    assert 0 <= seconds <= 60


# (exception raised by the transport, SDK error, request_sent)
FOREIGN: list[tuple[Exception, type[errors.BatchError], bool]] = [
    (httpx.ConnectError("refused"), errors.BatchConnectionError, False),
    (httpx.ConnectTimeout("slow"), errors.BatchTimeoutError, False),
    (httpx.PoolTimeout("busy"), errors.BatchTimeoutError, False),
    (httpx.ReadTimeout("slow"), errors.BatchTimeoutError, True),
    (httpx.WriteTimeout("slow"), errors.BatchTimeoutError, True),
    (httpx.ReadError("reset"), errors.BatchConnectionError, True),
    (httpx.WriteError("reset"), errors.BatchConnectionError, True),
    (httpx.RemoteProtocolError("bad"), errors.BatchConnectionError, True),
    (httpx.LocalProtocolError("bad"), errors.BatchConnectionError, False),
    (httpx.ProxyError("proxy"), errors.BatchConnectionError, False),
    (httpx.UnsupportedProtocol("ftp"), errors.BatchConnectionError, False),
    (ConnectionResetError("reset"), errors.BatchConnectionError, True),
    (TimeoutError("slow"), errors.BatchTimeoutError, True),
    (anyio.BrokenResourceError(), errors.BatchConnectionError, True),
    (anyio.EndOfStream(), errors.BatchConnectionError, True),
]


@pytest.mark.parametrize(
    ("exc", "expected", "sent"), FOREIGN, ids=[type(f[0]).__name__ for f in FOREIGN]
)
@pytest.mark.parametrize("own_client", [False, True])
async def test_foreign_exceptions_map_through_one_table(
    exc: Exception, expected: type[errors.BatchError], sent: bool, own_client: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    if own_client:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        client = BatchClient(
            ENDPOINT, SharedKeyCredential("acct", KEY), http_client=http,
            retry_policy=RetryPolicy.disabled(),
        )  # fmt: skip
    else:
        client = client_for(handler, retry_policy=RetryPolicy.disabled())
    async with client:
        with pytest.raises(expected) as info:
            await client.task.delete("job-1", "t1")
    assert isinstance(info.value, errors.TransportError)
    assert info.value.request_sent is sent
    assert info.value.__cause__ is exc
    if own_client:
        await http.aclose()


class _BrokenBody(httpx.AsyncByteStream):
    async def __aiter__(self) -> Any:
        yield b'{"id": '
        raise httpx.ReadError("connection reset while reading the body")


class _BrokenBodyAndClose(_BrokenBody):
    async def aclose(self) -> None:
        raise httpx.CloseError("the socket was already gone")


@pytest.mark.parametrize("stream", [_BrokenBody, _BrokenBodyAndClose])
async def test_a_body_cut_off_while_read_is_a_sent_connection_error(
    stream: type[httpx.AsyncByteStream],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=stream())

    async with client_for(handler, retry_policy=RetryPolicy.disabled()) as client:
        with pytest.raises(errors.BatchConnectionError) as info:
            await client.task.get("job-1", "t1")
    assert info.value.request_sent


Call = Callable[[BatchClient], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "add": lambda c: c.task.add("j", models.TaskAddParameter(id="t", command_line="x")),
    "get": lambda c: c.task.get("j", "t"),
    "list": lambda c: c.task.list("j").to_list(),
    "terminate": lambda c: c.task.terminate("j", "t"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_a_closed_client_raises_client_closed_error(name: str) -> None:
    client = client_for(reply(200, json={"id": "t", "value": []}))
    await client.close()
    with pytest.raises(errors.ClientClosedError):
        await CALLS[name](client)
    await client.close()  # closing twice is harmless


async def test_a_closed_user_client_raises_client_closed_error() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply(204)))
    client = BatchClient(ENDPOINT, SharedKeyCredential("acct", KEY), http_client=http)
    await http.aclose()
    with pytest.raises(errors.ClientClosedError):
        await client.task.terminate("j", "t")


async def test_closing_the_batch_client_stops_calls_on_a_user_client() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply(204)))
    async with BatchClient(ENDPOINT, SharedKeyCredential("acct", KEY), http_client=http) as client:
        await client.task.terminate("j", "t")
    assert not http.is_closed, "the caller's client stays theirs"
    with pytest.raises(errors.ClientClosedError):
        await client.task.terminate("j", "t")
    await http.aclose()
