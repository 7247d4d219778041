"""Wire format of ``client.file`` and ``client.job``, checked against the recorded shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest

from batch_tasks_async import BatchClient, RetryPolicy, SharedKeyCredential, errors, models

pytestmark = pytest.mark.anyio

ENDPOINT = "https://acct.westus.batch.azure.com"
KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
BASE = f"{ENDPOINT}/jobs/job-1/tasks/t1/files"

# Headers of the recorded HEAD/GET of a task file (go-azbatch/TestTask.json).
FILE_HEADERS = {
    "Content-Type": "text/plain",
    "DataServiceVersion": "3.0",
    "Last-Modified": "Thu, 13 Feb 2025 23:27:06 GMT",
    "ocp-batch-file-isdirectory": "False",
    "ocp-batch-file-mode": "0o100644",
    "ocp-batch-file-url": "https%3A%2F%2Fbatch.local%2Fjobs%2Fj%2Ftasks%2Ft%2Ffiles%2Ftask.txt",
    "ocp-creation-time": "Wed, 19 Mar 2025 19:29:38 GMT",
    "request-id": "37ccc5a2-2a6b-44a1-8e34-1e3a0b7e0986",
}

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler) -> BatchClient:
    return BatchClient(
        ENDPOINT,
        credential=SharedKeyCredential("acct", KEY),
        transport=httpx.MockTransport(handler),
        retry_policy=RetryPolicy().without_backoff(),
    )


class Recorder:
    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


async def test_task_counts_from_the_recorded_reply() -> None:
    body = {
        "odata.metadata": "https://batch.local/$metadata#taskcountsresult/@Element",
        "taskCounts": {"active": 1, "running": 2, "completed": 3, "succeeded": 2, "failed": 1},
        "taskSlotCounts": {"active": 1, "running": 2, "completed": 3, "succeeded": 2, "failed": 1},
    }
    rec = Recorder(httpx.Response(200, json=body))
    async with make_client(rec) as client:
        counts = await client.job.get_task_counts("job 1", timeout=5, client_request_id="abc")
    assert counts.task_counts.failed == 1
    assert counts.task_slot_counts.running == 2
    request = rec.requests[0]
    assert request.method == "GET"
    assert request.url.raw_path.startswith(b"/jobs/job%201/taskcounts?")
    assert query(request) == {"api-version": "2024-07-01.20.0", "timeout": "5"}
    assert request.headers["client-request-id"] == "abc"


async def test_task_counts_errors_are_typed() -> None:
    not_found = {"code": "JobNotFound", "message": {"lang": "en-US", "value": "gone"}}
    async with make_client(Recorder(httpx.Response(404, json=not_found))) as client:
        with pytest.raises(errors.NotFoundError) as caught:
            await client.job.get_task_counts("job-1")
    assert caught.value.code == "JobNotFound"
    async with make_client(Recorder(httpx.Response(200, content=b"<html>"))) as client:
        with pytest.raises(errors.ResponseDecodeError, match="not JSON"):
            await client.job.get_task_counts("job-1")
    async with make_client(Recorder(httpx.Response(200, json={"taskCounts": {}}))) as client:
        with pytest.raises(errors.ResponseDecodeError, match="TaskCountsResult"):
            await client.job.get_task_counts("job-1")
    async with make_client(Recorder(httpx.Response(200, json={}))) as client:
        with pytest.raises(errors.ClientValidationError):
            await client.job.get_task_counts("")


async def test_list_files_recursive_with_every_option() -> None:
    page = {
        "odata.metadata": "https://batch.local/$metadata#files",
        "value": [
            {"name": "wd", "url": f"{BASE}/wd", "isDirectory": True},
            {
                "name": "stdout.txt",
                "url": f"{BASE}/stdout.txt",
                "isDirectory": False,
                "properties": {
                    "creationTime": "2025-03-19T19:29:38.713847Z",
                    "lastModified": "2025-03-19T19:29:39.18259Z",
                    "contentLength": "13",
                    "contentType": "text/plain",
                },
            },
        ],
        "odata.nextLink": f"{BASE}?api-version=2024-07-01.20.0&$skiptoken=abc",
    }
    last = {"value": [{"name": "wd/out.txt", "isDirectory": False}]}
    rec = Recorder(httpx.Response(200, json=page), httpx.Response(200, json=last))
    async with make_client(rec) as client:
        files = await client.file.list_from_task(
            "job-1",
            "t1",
            recursive=True,
            filter="startswith(name, 'wd')",
            max_results=2,
            timeout=10,
        ).to_list()
    assert [f.name for f in files] == ["wd", "stdout.txt", "wd/out.txt"]
    assert files[0].is_directory is True
    assert files[0].properties is None
    props = files[1].properties
    assert props is not None
    assert props.content_length == 13
    assert props.last_modified == datetime(2025, 3, 19, 19, 29, 39, 182590, tzinfo=UTC)
    assert query(rec.requests[0]) == {
        "api-version": "2024-07-01.20.0",
        "$filter": "startswith(name, 'wd')",
        "recursive": "true",
        "maxresults": "2",
        "timeout": "10",
    }
    assert rec.requests[1].url.params["$skiptoken"] == "abc"
    async with make_client(rec) as client:
        with pytest.raises(errors.ClientValidationError, match="max_results"):
            client.file.list_from_task("job-1", "t1", max_results=0)
        with pytest.raises(errors.ClientValidationError, match="recursive"):
            client.file.list_from_task("job-1", "t1", recursive="yes")  # type: ignore[arg-type]


async def test_properties_from_the_ocp_batch_file_headers() -> None:
    rec = Recorder(httpx.Response(200, headers={**FILE_HEADERS, "Content-Length": "5"}))
    since = datetime(2025, 1, 1, tzinfo=UTC)
    async with make_client(rec) as client:
        props = await client.file.get_properties_from_task(
            "job-1", "t1", "wd/task out.txt", if_modified_since=since, return_client_request_id=True
        )
    request = rec.requests[0]
    assert request.method == "HEAD"
    assert request.url.raw_path.startswith(b"/jobs/job-1/tasks/t1/files/wd%2Ftask%20out.txt?")
    assert request.headers["if-modified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert request.headers["return-client-request-id"] == "true"
    assert props.content_length == 5
    assert props.is_directory is False
    assert props.file_mode == "0o100644"
    assert props.content_type == "text/plain"
    assert props.url == "https://batch.local/jobs/j/tasks/t/files/task.txt"
    assert props.last_modified == datetime(2025, 2, 13, 23, 27, 6, tzinfo=UTC)
    assert props.creation_time == datetime(2025, 3, 19, 19, 29, 38, tzinfo=UTC)
    assert props.request_id == FILE_HEADERS["request-id"]
    assert props.client_request_id == request.headers["client-request-id"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ocp-batch-file-isdirectory", "maybe"),
        ("Last-Modified", "yesterday"),
        ("Content-Length", "lots"),
    ],
)
async def test_malformed_property_headers_are_decode_errors(header: str, value: str) -> None:
    headers = {**FILE_HEADERS, header: value}
    async with make_client(Recorder(httpx.Response(200, headers=headers))) as client:
        with pytest.raises(errors.ResponseDecodeError, match=f"(?i){header}"):
            await client.file.get_properties_from_task("job-1", "t1", "stdout.txt")


async def test_missing_file_head_is_not_found() -> None:
    # The recorded HEAD of a deleted file: 404 with no body.
    async with make_client(Recorder(httpx.Response(404))) as client:
        with pytest.raises(errors.NotFoundError):
            await client.file.get_properties_from_task("job-1", "t1", "stderr.txt")


class ChunkedBody(httpx.AsyncByteStream):
    """A streamed body that can fail after some chunks, recording how much was pulled."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk
        if self.fail is not None:
            raise self.fail

    async def aclose(self) -> None:
        self.closed = True


async def test_get_streams_with_ocp_range_and_options() -> None:
    body = ChunkedBody([b"hello ", b"world"])
    rec = Recorder(httpx.Response(200, headers=FILE_HEADERS, stream=body))
    since = datetime(2025, 1, 1, tzinfo=UTC)
    async with make_client(rec) as client:
        download = client.file.get_from_task(
            "job-1",
            "t1",
            "stdout.txt",
            ocp_range="bytes=0-10",
            if_unmodified_since=since,
            timeout=7,
            ocp_date=since,
        )
        assert rec.requests == []  # nothing is sent before the download is used
        async with download as opened:
            assert opened.properties is not None
            assert opened.properties.is_directory is False
            assert opened.properties.content_length is None  # chunked, as recorded
            chunks = [chunk async for chunk in opened]
    assert b"".join(chunks) == b"hello world"
    assert body.closed
    request = rec.requests[0]
    assert request.headers["ocp-range"] == "bytes=0-10"
    assert request.headers["accept"] == "application/octet-stream"
    assert request.headers["if-unmodified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert request.headers["ocp-date"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert query(request) == {"api-version": "2024-07-01.20.0", "timeout": "7"}


async def test_leaving_a_download_early_closes_it() -> None:
    body = ChunkedBody([b"a"] * 100)
    async with (
        make_client(Recorder(httpx.Response(200, headers=FILE_HEADERS, stream=body))) as client,
        client.file.get_from_task("job-1", "t1", "big.bin", chunk_size=1) as download,
    ):
        async for _chunk in download:
            break
    assert body.closed
    assert body.pulled < 100


async def test_download_to_a_path_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    ok = Recorder(httpx.Response(200, headers=FILE_HEADERS, stream=ChunkedBody([b"12", b"34"])))
    async with make_client(ok) as client:
        props = await client.file.get_from_task("job-1", "t1", "stdout.txt").to_path(target)
    assert target.read_bytes() == b"1234"
    assert props.file_mode == "0o100644"
    cut = ChunkedBody([b"new"], fail=httpx.RemoteProtocolError("peer closed"))
    broken = Recorder(httpx.Response(200, headers=FILE_HEADERS, stream=cut))
    async with make_client(broken) as client:
        with pytest.raises(errors.BatchConnectionError, match="cut off"):
            await client.file.get_from_task("job-1", "t1", "stdout.txt").to_path(target)
    assert target.read_bytes() == b"1234"  # the old file is untouched
    leftovers = sorted([p.name async for p in anyio.Path(tmp_path).iterdir()])
    assert leftovers == ["out.txt"]  # no partial file left
    async with make_client(ok) as client:
        with pytest.raises(errors.ClientValidationError, match="directory"):
            await client.file.get_from_task("job-1", "t1", "x").to_path(tmp_path)
        with pytest.raises(errors.ClientValidationError, match="does not exist"):
            await client.file.get_from_task("job-1", "t1", "x").to_path(tmp_path / "no" / "x")


async def test_read_timeout_mid_body_is_a_batch_timeout() -> None:
    cut = ChunkedBody([b"x"], fail=httpx.ReadTimeout("slow"))
    async with make_client(
        Recorder(httpx.Response(200, headers=FILE_HEADERS, stream=cut))
    ) as client:
        with pytest.raises(errors.BatchTimeoutError) as caught:
            await client.file.get_from_task("job-1", "t1", "stdout.txt").read()
    assert caught.value.request_sent


async def test_get_errors_are_read_and_retried() -> None:
    busy = httpx.Response(
        503, json={"code": "ServerBusy", "message": {"value": "busy"}}, headers={"retry-after": "0"}
    )
    ok = httpx.Response(200, headers=FILE_HEADERS, stream=ChunkedBody([b"done\n"]))
    rec = Recorder(busy, ok)
    async with make_client(rec) as client:
        assert await client.file.get_from_task("job-1", "t1", "task.txt").read() == b"done\n"
    assert len(rec.requests) == 2
    assert (
        rec.requests[0].headers["client-request-id"] == rec.requests[1].headers["client-request-id"]
    )
    gone = {"code": "FileNotFound", "message": {"value": "no such file"}}
    async with make_client(Recorder(httpx.Response(404, json=gone))) as client:
        with pytest.raises(errors.NotFoundError) as caught:
            await client.file.get_from_task("job-1", "t1", "nope.txt").read()
    assert caught.value.code == "FileNotFound"


@pytest.mark.parametrize("bad", ["0-10", "bytes=5-1", "bytes=a-", "bytes=-", ""])
async def test_bad_ranges_are_refused_before_sending(bad: str) -> None:
    rec = Recorder(httpx.Response(200))
    async with make_client(rec) as client:
        with pytest.raises(errors.ClientValidationError, match="ocp_range"):
            client.file.get_from_task("job-1", "t1", "stdout.txt", ocp_range=bad)
    assert rec.requests == []


async def test_delete_file_recursive() -> None:
    rec = Recorder(httpx.Response(200, headers={"request-id": "r1"}))
    async with make_client(rec) as client:
        meta = await client.file.delete_from_task("job-1", "t1", "wd", recursive=True, timeout=3)
    request = rec.requests[0]
    assert request.method == "DELETE"
    assert request.url.raw_path.startswith(b"/jobs/job-1/tasks/t1/files/wd?")
    assert query(request) == {"api-version": "2024-07-01.20.0", "recursive": "true", "timeout": "3"}
    assert meta.status_code == 200
    assert meta.request_id == "r1"


def test_reprs_show_no_secret() -> None:
    client = make_client(Recorder(httpx.Response(200)))
    for text in (repr(client.job), repr(client.file)):
        assert KEY not in text
        assert ENDPOINT in text


def test_node_file_round_trips() -> None:
    wire: dict[str, Any] = {
        "name": "task.txt",
        "url": f"{BASE}/task.txt",
        "isDirectory": False,
        "properties": {
            "lastModified": "2025-02-13T23:27:06.305704Z",
            "contentLength": "5",
            "contentType": "text/plain",
            "fileMode": "0o100644",
        },
    }
    node_file = models.NodeFile.from_dict(wire)
    assert node_file.properties is not None
    assert node_file.properties.content_length == 5
    assert orjson.loads(orjson.dumps(node_file.to_dict())) == wire
