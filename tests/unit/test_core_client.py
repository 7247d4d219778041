"""Responses with their headers, the options as one TypedDict, and the direct send path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from batch_tasks_async import (
    BatchClient,
    Response,
    ResponseMetadata,
    RetryPolicy,
    SharedKeyCredential,
    __version__,
    errors,
    models,
)
from tests.unit.test_client_wire import ENDPOINT, KEY, Recorder, make_client

pytestmark = pytest.mark.anyio

HEADERS = {
    "ETag": "0x8DCAFE",
    "Last-Modified": "Thu, 27 Jul 2017 18:37:36 GMT",
    "request-id": "rid-1",
    "x-custom": "kept",
}


def client_for(recorder: Recorder) -> BatchClient:
    return make_client(recorder, retry_policy=RetryPolicy.disabled())


async def test_get_with_response_has_the_etag_even_under_select() -> None:
    recorder = Recorder(httpx.Response(200, json={"id": "t1", "state": "active"}, headers=HEADERS))
    async with client_for(recorder) as client:
        found = await client.task.get_with_response("job-1", "t1", select=["id", "state"])
        plain = await client.task.get("job-1", "t1", select="id,state")
    assert isinstance(found, Response)
    assert isinstance(found.value, models.CloudTask)
    assert found.value.e_tag is None, "the body had no eTag: select left it out"
    assert found.e_tag == "0x8DCAFE"
    assert found.last_modified == datetime(2017, 7, 27, 18, 37, 36, tzinfo=UTC)
    assert found.request_id == "rid-1"
    assert found.headers["x-custom"] == "kept"
    assert found.metadata.status_code == 200
    assert found.metadata.client_request_id == recorder.requests[0].headers["client-request-id"]
    assert plain == found.value
    assert len(recorder.requests) == 2, "one request per call, no second request for headers"


async def test_each_list_page_carries_its_response_metadata() -> None:
    first = httpx.Response(
        200,
        json={"value": [{"id": "a"}], "odata.nextLink": f"{ENDPOINT}/jobs/j/tasks?skip=1"},
        headers={"request-id": "p1", "x-page": "1"},
    )
    second = httpx.Response(200, json={"value": [{"id": "b"}]}, headers={"request-id": "p2"})
    recorder = Recorder(first, second)
    async with client_for(recorder) as client:
        pages = [page async for page in client.task.list("j").pages()]
    assert [p.request_id for p in pages] == ["p1", "p2"]
    assert all(isinstance(p.metadata, ResponseMetadata) for p in pages)
    assert pages[0].metadata is not None
    assert pages[0].metadata.headers["x-page"] == "1"
    assert pages[0].metadata.client_request_id == recorder.requests[0].headers["client-request-id"]
    assert [t.id for p in pages for t in p.items] == ["a", "b"]


async def test_bodiless_operations_expose_every_header() -> None:
    recorder = Recorder(httpx.Response(200, headers=HEADERS))
    async with client_for(recorder) as client:
        meta = await client.task.delete("j", "t")
    assert meta.e_tag == "0x8DCAFE"
    assert meta.headers["x-custom"] == "kept"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"if_matc": "x"}, "unexpected option"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"if_match": 5}, "if_match"),
        ({"if_match": "a\r\nx-evil: 1"}, "printable ASCII"),
        ({"client_request_id": "caf\u00e9"}, "printable ASCII"),
        ({"ocp_date": datetime(2026, 1, 1)}, "time zone"),
        ({"if_modified_since": "yesterday"}, "datetime"),
        ({"return_client_request_id": "yes"}, "bool"),
        ({"retry_policy": 3}, "RetryPolicy"),
    ],
)
async def test_options_are_checked_before_sending(options: dict[str, Any], message: str) -> None:
    recorder = Recorder(httpx.Response(204))
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match=message):
            await client.task.terminate("j", "t", **options)
    assert recorder.requests == []


async def test_conditions_are_refused_where_the_operation_takes_none() -> None:
    recorder = Recorder(httpx.Response(201))
    task = models.TaskAddParameter(id="t", command_line="x")
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="if_match"):
            await client.task.add("j", task, if_match="x")  # type: ignore[call-arg]
    assert recorder.requests == []


async def test_options_reach_the_wire() -> None:
    recorder = Recorder(httpx.Response(204))
    when = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    async with client_for(recorder) as client:
        await client.task.terminate(
            "j",
            "t",
            timeout=5,
            client_request_id="cid-1",
            return_client_request_id=True,
            ocp_date=when,
            if_match="e1",
            if_unmodified_since=when,
        )
    [request] = recorder.requests
    assert request.url.params["timeout"] == "5"
    assert request.headers["client-request-id"] == "cid-1"
    assert request.headers["return-client-request-id"] == "true"
    assert request.headers["ocp-date"] == "Tue, 01 Dec 2026 08:00:00 GMT"
    assert request.headers["if-match"] == "e1"
    assert request.headers["if-unmodified-since"] == "Tue, 01 Dec 2026 08:00:00 GMT"


async def test_update_refuses_constraints_that_are_not_a_model() -> None:
    recorder = Recorder(httpx.Response(200))
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="TaskConstraints"):
            await client.task.update("j", "t", constraints={"maxTaskRetryCount": 3})  # type: ignore[arg-type]
    assert recorder.requests == []


def _wire_headers(request: httpx.Request) -> dict[str, str]:
    varying = {"authorization", "client-request-id", "ocp-date"}
    return {k: v for k, v in request.headers.items() if k not in varying}


async def test_direct_and_client_paths_send_the_same_request() -> None:
    direct_seen = Recorder(httpx.Response(204))
    client_seen = Recorder(httpx.Response(204))
    async with client_for(direct_seen) as direct:
        assert direct._pipeline.sends_directly
        await direct.task.terminate("j", "t", if_match="e")
    http = httpx.AsyncClient(transport=httpx.MockTransport(client_seen))
    async with (
        http,
        BatchClient(ENDPOINT, SharedKeyCredential("acct", KEY), http_client=http) as through,
    ):
        assert not through._pipeline.sends_directly
        await through.task.terminate("j", "t", if_match="e")
    [a], [b] = direct_seen.requests, client_seen.requests
    assert (a.method, a.url) == (b.method, b.url)
    assert _wire_headers(a) == _wire_headers(b)
    assert a.headers["user-agent"].startswith(f"batch-tasks-async/{__version__} ")
    assert a.extensions["timeout"] == direct._pipeline.http.timeout.as_dict()


async def test_a_user_client_keeps_its_hooks_auth_and_cookies() -> None:
    seen: list[str] = []
    recorder = Recorder(httpx.Response(204, headers={"set-cookie": "a=1; Path=/"}))

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(recorder), event_hooks={"request": [hook]}
    ) as http:
        async with BatchClient(ENDPOINT, http_client=http) as client:
            assert not client._pipeline.sends_directly
            await client.task.terminate("j", "t")
            await client.task.terminate("j", "t")
        assert http.cookies.get("a") == "1"
    assert seen == ["/jobs/j/tasks/t/terminate"] * 2
    assert recorder.requests[1].headers["cookie"] == "a=1"


def test_http_client_must_be_an_httpx_async_client() -> None:
    with pytest.raises(errors.ClientValidationError, match=r"httpx\.AsyncClient"):
        BatchClient(ENDPOINT, http_client=object())  # type: ignore[arg-type]


def test_trust_env_must_be_a_bool() -> None:
    with pytest.raises(errors.ClientValidationError, match="trust_env"):
        BatchClient(ENDPOINT, trust_env="no")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network_timeout": "slow"}, "network_timeout"),
        ({"network_timeout": 0}, "network_timeout"),
        ({"network_timeout": float("nan")}, "network_timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": 2.5}, "max_connections"),
        ({"api_version": ""}, "api_version"),
        ({"retry_policy": "never"}, "retry_policy"),
    ],
)
def test_client_arguments_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.ClientValidationError, match=message):
        BatchClient(ENDPOINT, **kwargs)
