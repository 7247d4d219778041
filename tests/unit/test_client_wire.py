"""Wire format of every Task operation: method, path, query, headers and body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from batch_tasks_async import (
    BatchClient,
    ResponseMetadata,
    RetryPolicy,
    SharedKeyCredential,
    errors,
    models,
)

pytestmark = pytest.mark.anyio

ENDPOINT = "https://acct.westus.batch.azure.com"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
API = "2024-07-01.20.0"
TASK_JSON: dict[str, Any] = {
    "id": "t1",
    "url": f"{ENDPOINT}/jobs/job-1/tasks/t1",
    "eTag": "0x8D4EDFEBFADF4AB",
    "creationTime": "2017-07-27T18:37:36.0931436Z",
    "state": "active",
    "commandLine": "cmd /c echo hi",
}

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler, **kwargs: Any) -> BatchClient:
    kwargs.setdefault("retry_policy", RetryPolicy().without_backoff())
    return BatchClient(
        ENDPOINT,
        credential=SharedKeyCredential("acct", KEY),
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


class Recorder:
    """A MockTransport handler that records requests and plays back responses."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.responses) == 1:
            return self.responses[0]
        return self.responses.pop(0)


def created_headers() -> dict[str, str]:
    return {
        "ETag": "0x8D4EDFEBFADF4AB",
        "Last-Modified": "Thu, 27 Jul 2017 18:37:36 GMT",
        "request-id": "f8b5d9c2-0000-4000-8000-000000000001",
        "DataServiceId": f"{ENDPOINT}/jobs/job-1/tasks/t1",
        "Location": f"{ENDPOINT}/jobs/job-1/tasks/t1",
    }


def assert_common_headers(request: httpx.Request) -> None:
    assert request.headers["authorization"].startswith("SharedKey acct:")
    assert uuid.UUID(request.headers["client-request-id"])
    datetime.strptime(request.headers["ocp-date"], "%a, %d %b %Y %H:%M:%S GMT")
    assert request.url.params["api-version"] == API
    assert request.headers["user-agent"].startswith("batch-tasks-async/")


async def test_add_sends_task_and_returns_metadata() -> None:
    rec = Recorder(httpx.Response(201, headers=created_headers()))
    async with make_client(rec) as client:
        meta = await client.task.add(
            "job-1",
            models.TaskAddParameter(id="t1", command_line="/bin/sh -c 'echo hi'"),
            timeout=30,
            return_client_request_id=True,
        )
    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url.path == "/jobs/job-1/tasks"
    assert request.url.params["timeout"] == "30"
    assert request.headers["content-type"] == "application/json; odata=minimalmetadata"
    assert request.headers["return-client-request-id"] == "true"
    assert json.loads(request.content) == {"id": "t1", "commandLine": "/bin/sh -c 'echo hi'"}
    assert_common_headers(request)
    assert meta == ResponseMetadata(
        status_code=201,
        e_tag="0x8D4EDFEBFADF4AB",
        last_modified=datetime(2017, 7, 27, 18, 37, 36, tzinfo=UTC),
        request_id="f8b5d9c2-0000-4000-8000-000000000001",
        client_request_id=request.headers["client-request-id"],
        data_service_id=f"{ENDPOINT}/jobs/job-1/tasks/t1",
        location=f"{ENDPOINT}/jobs/job-1/tasks/t1",
    )


async def test_add_accepts_a_wire_mapping_and_explicit_ids() -> None:
    rec = Recorder(httpx.Response(201, headers=created_headers()))
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with make_client(rec) as client:
        await client.task.add(
            "job 1/x",
            {"id": "t1", "commandLine": "echo", "requiredSlots": 2},
            client_request_id="my-id",
            ocp_date=stamp,
        )
    (request,) = rec.requests
    assert request.url.raw_path.startswith(b"/jobs/job%201%2Fx/tasks?")
    assert request.headers["client-request-id"] == "my-id"
    assert request.headers["ocp-date"] == "Fri, 02 Jan 2026 03:04:05 GMT"
    assert json.loads(request.content) == {"id": "t1", "commandLine": "echo", "requiredSlots": 2}


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"commandLine": "echo"}, "'id'"),
        (42, "TaskAddParameter"),
    ],
)
async def test_add_rejects_bad_tasks_before_sending(task: Any, message: str) -> None:
    rec = Recorder(httpx.Response(201))
    async with make_client(rec) as client:
        with pytest.raises(errors.ClientValidationError, match=message):
            await client.task.add("job-1", task)
    assert rec.requests == []


async def test_get_with_select_expand_and_conditions() -> None:
    rec = Recorder(httpx.Response(200, json=TASK_JSON, headers={"ETag": "0x8D4EDFEBFADF4AB"}))
    since = datetime(2026, 3, 1, tzinfo=UTC)
    async with make_client(rec) as client:
        task = await client.task.get(
            "job-1",
            "t1",
            select=["id", "state"],
            expand="stats",
            if_match="0x1",
            if_none_match="0x2",
            if_modified_since=since,
            if_unmodified_since=since,
        )
    (request,) = rec.requests
    assert request.method == "GET"
    assert request.url.path == "/jobs/job-1/tasks/t1"
    assert request.url.params["$select"] == "id,state"
    assert request.url.params["$expand"] == "stats"
    assert request.headers["if-match"] == "0x1"
    assert request.headers["if-none-match"] == "0x2"
    assert request.headers["if-modified-since"] == "Sun, 01 Mar 2026 00:00:00 GMT"
    assert request.headers["if-unmodified-since"] == "Sun, 01 Mar 2026 00:00:00 GMT"
    assert "content-type" not in request.headers
    assert_common_headers(request)
    assert isinstance(task, models.CloudTask)
    assert task.id == "t1"
    assert task.state == models.TaskState.ACTIVE
    assert task.e_tag == "0x8D4EDFEBFADF4AB"


async def test_update_replaces_constraints_with_if_match() -> None:
    rec = Recorder(httpx.Response(200, headers=created_headers()))
    async with make_client(rec) as client:
        meta = await client.task.update(
            "job-1",
            "t1",
            constraints=models.TaskConstraints(max_task_retry_count=3),
            if_match="0x8D4EDFEBFADF4AB",
        )
    (request,) = rec.requests
    assert request.method == "PUT"
    assert request.url.path == "/jobs/job-1/tasks/t1"
    assert request.headers["if-match"] == "0x8D4EDFEBFADF4AB"
    assert json.loads(request.content) == {"constraints": {"maxTaskRetryCount": 3}}
    assert meta.status_code == 200
    assert meta.e_tag == "0x8D4EDFEBFADF4AB"


async def test_update_takes_a_parameter_object_but_not_both() -> None:
    rec = Recorder(httpx.Response(200))
    param = models.TaskUpdateParameter(constraints=models.TaskConstraints(retention_time=None))
    async with make_client(rec) as client:
        await client.task.update("job-1", "t1", param)
        with pytest.raises(errors.ClientValidationError, match="not both"):
            await client.task.update(
                "job-1", "t1", param, constraints=models.TaskConstraints(max_task_retry_count=1)
            )
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("operation", "method", "suffix", "status"),
    [
        ("delete", "DELETE", "", 200),
        ("terminate", "POST", "/terminate", 204),
        ("reactivate", "POST", "/reactivate", 204),
    ],
)
async def test_bodiless_operations(operation: str, method: str, suffix: str, status: int) -> None:
    headers = {"ETag": "0x2", "Last-Modified": "Thu, 27 Jul 2017 18:37:36 GMT", "request-id": "r"}
    rec = Recorder(httpx.Response(status, headers=headers))
    async with make_client(rec) as client:
        meta = await getattr(client.task, operation)(
            "job-1", "t1", if_match="0x1", timeout=10, client_request_id="cid"
        )
    (request,) = rec.requests
    assert request.method == method
    assert request.url.path == f"/jobs/job-1/tasks/t1{suffix}"
    assert request.url.params["timeout"] == "10"
    assert request.headers["if-match"] == "0x1"
    assert request.content == b""
    assert "content-type" not in request.headers
    assert meta.status_code == status
    assert meta.e_tag == "0x2"
    assert meta.client_request_id == "cid"


async def test_list_query_and_paging_with_empty_pages() -> None:
    base = f"{ENDPOINT}/jobs/job-1/tasks?api-version={API}&maxresults=2"
    pages = [
        {"value": [TASK_JSON, {**TASK_JSON, "id": "t2"}], "odata.nextLink": f"{base}&$skiptoken=A"},
        {"value": [], "odata.nextLink": f"{base}&$skiptoken=B"},
        {"odata.metadata": "x", "value": [{**TASK_JSON, "id": "t3"}]},
    ]
    rec = Recorder(*(httpx.Response(200, json=p) for p in pages))
    async with make_client(rec) as client:
        pager = client.task.list(
            "job-1", filter="state eq 'completed'", select=["id", "state"], max_results=2
        )
        ids = [t.id async for t in pager]
    assert ids == ["t1", "t2", "t3"]
    first, second, third = rec.requests
    assert first.url.params["$filter"] == "state eq 'completed'"
    assert first.url.params["$select"] == "id,state"
    assert first.url.params["maxresults"] == "2"
    assert str(second.url) == f"{base}&$skiptoken=A"
    assert str(third.url) == f"{base}&$skiptoken=B"
    for request in rec.requests:
        assert_common_headers(request)


async def test_list_pages_and_early_exit() -> None:
    link = f"{ENDPOINT}/jobs/job-1/tasks?api-version={API}&$skiptoken=N"
    first_page = {"value": [TASK_JSON], "odata.nextLink": link}
    rec = Recorder(
        httpx.Response(200, json=first_page),
        httpx.Response(200, json=first_page),
        httpx.Response(200, json={"value": [{**TASK_JSON, "id": "t2"}]}),
    )
    async with make_client(rec) as client:
        pager = client.task.list("job-1")
        async for task in pager:
            assert task.id == "t1"
            break
        assert len(rec.requests) == 1
        pages = [page async for page in pager.pages()]
    assert [[t.id for t in p.items] for p in pages] == [["t1"], ["t2"]]
    assert len(rec.requests) == 3
    assert pages[0].next_link == link
    assert pages[1].next_link is None


async def test_list_resumes_from_a_continuation_token() -> None:
    link = f"{ENDPOINT}/jobs/job-1/tasks?api-version={API}&$skiptoken=N"
    rec = Recorder(httpx.Response(200, json={"value": [{**TASK_JSON, "id": "t9"}]}))
    async with make_client(rec) as client:
        pages = [p async for p in client.task.list("job-1").pages(continuation_token=link)]
    assert str(rec.requests[0].url) == link
    assert [t.id for t in pages[0].items] == ["t9"]


async def test_next_link_to_another_origin_is_refused() -> None:
    rec = Recorder(
        httpx.Response(
            200, json={"value": [], "odata.nextLink": "https://evil.example.com/jobs/j/tasks"}
        )
    )
    async with make_client(rec) as client:
        with pytest.raises(errors.ClientValidationError, match="another origin"):
            _ = [t async for t in client.task.list("job-1")]
    assert len(rec.requests) == 1


async def test_list_subtasks() -> None:
    body = {
        "value": [
            {"id": 1, "nodeInfo": {"nodeId": "n1"}, "state": "running"},
            {"id": 2, "state": "completed", "exitCode": 0},
        ]
    }
    rec = Recorder(httpx.Response(200, json=body))
    async with make_client(rec) as client:
        subtasks = await client.task.list_subtasks("job-1", "t1", select="id,state").to_list()
    (request,) = rec.requests
    assert request.url.path == "/jobs/job-1/tasks/t1/subtasksinfo"
    assert request.url.params["$select"] == "id,state"
    assert [s.id for s in subtasks] == [1, 2]
    assert subtasks[1].state == models.SubtaskState.COMPLETED


@pytest.mark.parametrize("bad", [0, 1001, -1, True])
async def test_max_results_is_validated(bad: int) -> None:
    async with make_client(Recorder(httpx.Response(200))) as client:
        with pytest.raises(errors.ClientValidationError, match="max_results"):
            client.task.list("job-1", max_results=bad)


async def test_api_version_override() -> None:
    rec = Recorder(httpx.Response(204))
    async with make_client(rec, api_version="2025-06-01") as client:
        await client.task.terminate("job-1", "t1")
    assert rec.requests[0].url.params["api-version"] == "2025-06-01"


async def test_respx_routes_every_operation() -> None:
    """The same wire contract, checked with respx route patterns.

    respx patches httpcore, which the SDK's transport does not use: its router is passed as
    the transport instead.
    """
    with respx.mock(base_url=ENDPOINT, assert_all_called=True, using=None) as mock:
        mock.post("/jobs/j/tasks", params={"api-version": API}).respond(201)
        mock.get("/jobs/j/tasks/t").respond(200, json=TASK_JSON)
        mock.get("/jobs/j/tasks").respond(200, json={"value": [TASK_JSON]})
        mock.get("/jobs/j/tasks/t/subtasksinfo").respond(200, json={"value": []})
        mock.put("/jobs/j/tasks/t").respond(200)
        mock.post("/jobs/j/tasks/t/terminate").respond(204)
        mock.post("/jobs/j/tasks/t/reactivate").respond(204)
        mock.delete("/jobs/j/tasks/t").respond(200)
        transport = httpx.MockTransport(mock.async_handler)
        async with BatchClient(
            ENDPOINT, SharedKeyCredential("acct", KEY), transport=transport
        ) as client:
            await client.task.add("j", models.TaskAddParameter(id="t", command_line="c"))
            await client.task.get("j", "t")
            assert len(await client.task.list("j").to_list()) == 1
            assert await client.task.list_subtasks("j", "t").to_list() == []
            await client.task.update("j", "t")
            await client.task.terminate("j", "t")
            await client.task.reactivate("j", "t")
            await client.task.delete("j", "t")
