"""Every id stays in its path segment, on the wire and in the signature (issue 10, item 1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from batch_tasks_async import BatchClient, RetryPolicy, errors, models
from batch_tasks_async import _routes as routes
from tests.unit.test_client_wire import KEY, make_client

pytestmark = pytest.mark.anyio


#: Ids a URL normaliser would rewrite: refused before anything is sent.
DOT_IDS = [".", "..", "%2e%2e", "%2E.", ".%2e", "%2e", "%252e%252e"]
#: Ids that must reach the service inside their segment: (id, its encoded form).
ODD_IDS = [
    ("/", "%2F"),
    ("a/../b", "a%2F..%2Fb"),
    ("?", "%3F"),
    ("#", "%23"),
    ("%2F", "%252F"),
    ("t\u00e9che-\u4efb\u52a1", "t%C3%A9che-%E4%BB%BB%E5%8A%A1"),
    ("...", "..."),
    ("a b", "a%20b"),
]


_COUNTS = {"active": 0, "running": 0, "completed": 1, "succeeded": 1, "failed": 0}


def respond(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if request.method == "GET" and path.endswith("/taskcounts"):
        return httpx.Response(200, json={"taskCounts": _COUNTS, "taskSlotCounts": _COUNTS})
    if request.method == "GET" and path.endswith("/files"):
        return httpx.Response(200, json={"value": []})
    if path.endswith("/addtaskcollection"):
        ids = [t["id"] for t in orjson.loads(request.content)["value"]]
        return httpx.Response(
            200, json={"value": [{"status": "success", "taskId": i} for i in ids]}
        )
    if request.method == "GET" and "subtasksinfo" in path:
        return httpx.Response(200, json={"value": []})
    if request.method == "GET" and path.rstrip("/").endswith("/tasks"):
        return httpx.Response(200, json={"value": []})
    if request.method == "GET":
        return httpx.Response(200, json={"id": "x"})
    if request.method == "POST" and path.endswith("/tasks"):
        return httpx.Response(201)
    return httpx.Response(200)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return respond(request)


def client_for(recorder: Recorder) -> BatchClient:
    return make_client(recorder, retry_policy=RetryPolicy.disabled())


Operation = Callable[[BatchClient, str, str], Awaitable[Any]]


async def _list(client: BatchClient, job: str, task: str) -> Any:
    return await client.task.list(job).to_list()


async def _subtasks(client: BatchClient, job: str, task: str) -> Any:
    return await client.task.list_subtasks(job, task).to_list()


async def _stream(client: BatchClient, job: str, task: str) -> Any:
    tasks = [models.TaskAddParameter(id=task, command_line="x")]
    async with client.task.stream_add_collection(job, tasks) as stream:
        return [result async for result in stream]


async def _file_list(client: BatchClient, job: str, task: str) -> Any:
    return await client.file.list_from_task(job, task).to_list()


#: The file operations, each given the file path as well.
FileOperation = Callable[[BatchClient, str, str, str], Awaitable[Any]]
FILE_OPERATIONS: dict[str, FileOperation] = {
    "file_get": lambda c, j, t, f: c.file.get_from_task(j, t, f).read(),
    "file_get_properties": lambda c, j, t, f: c.file.get_properties_from_task(j, t, f),
    "file_delete": lambda c, j, t, f: c.file.delete_from_task(j, t, f),
}


def _on_stdout(operation: FileOperation) -> Operation:
    """``operation`` on the task's ``stdout.txt``."""

    def call(client: BatchClient, job: str, task: str) -> Awaitable[Any]:
        return operation(client, job, task, "stdout.txt")

    return call


TASK_OPERATIONS: dict[str, Operation] = {
    "get": lambda c, j, t: c.task.get(j, t),
    "get_with_response": lambda c, j, t: c.task.get_with_response(j, t),
    "update": lambda c, j, t: c.task.update(j, t, constraints=models.TaskConstraints()),
    "delete": lambda c, j, t: c.task.delete(j, t),
    "terminate": lambda c, j, t: c.task.terminate(j, t),
    "reactivate": lambda c, j, t: c.task.reactivate(j, t),
    "list_subtasks": _subtasks,
    "file_list": _file_list,
    **{name: _on_stdout(op) for name, op in FILE_OPERATIONS.items()},
}
JOB_OPERATIONS: dict[str, Operation] = {
    **TASK_OPERATIONS,
    "add": lambda c, j, t: c.task.add(j, models.TaskAddParameter(id=t, command_line="x")),
    "list": _list,
    "add_collection": lambda c, j, t: c.task.add_collection(
        j, [models.TaskAddParameter(id=t, command_line="x")]
    ),
    "stream_add_collection": _stream,
    "get_task_counts": lambda c, j, t: c.job.get_task_counts(j),
}


@pytest.mark.parametrize("bad", DOT_IDS)
@pytest.mark.parametrize("name", sorted(JOB_OPERATIONS))
async def test_dot_job_ids_are_refused_before_sending(name: str, bad: str) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="job_id"):
            await JOB_OPERATIONS[name](client, bad, "t1")
    assert recorder.requests == []


@pytest.mark.parametrize("bad", DOT_IDS)
@pytest.mark.parametrize("name", sorted(TASK_OPERATIONS))
async def test_dot_task_ids_are_refused_before_sending(name: str, bad: str) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="task_id"):
            await TASK_OPERATIONS[name](client, "job-1", bad)
    assert recorder.requests == []


def _verify_signature(request: httpx.Request) -> None:
    """Recompute the Shared Key signature from what went on the wire (no SDK code)."""
    raw_path, _, query = request.url.raw_path.decode("ascii").partition("?")
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
    if request.method not in ("GET", "HEAD"):
        headers.setdefault("content-length", "0")
    standard = [
        "content-encoding", "content-language", "content-length", "content-md5",
        "content-type", "date", "if-modified-since", "if-match", "if-none-match",
        "if-unmodified-since", "range",
    ]  # fmt: skip
    lines = [request.method] + [headers.get(name, "") for name in standard]
    text = "\n".join(lines) + "\n"
    for name in sorted(k for k in headers if k.startswith("ocp-")):
        text += f"{name}:{headers[name]}\n"
    text += f"/acct{raw_path}"
    for name, value in sorted(httpx.QueryParams(query).items()):
        text += f"\n{name}:{value}"
    digest = hmac.new(base64.b64decode(KEY), text.encode(), hashlib.sha256).digest()
    assert request.headers["authorization"] == f"SharedKey acct:{base64.b64encode(digest).decode()}"


@pytest.mark.parametrize(("odd", "encoded"), ODD_IDS)
@pytest.mark.parametrize("name", sorted(JOB_OPERATIONS))
async def test_odd_job_ids_stay_in_their_segment(name: str, odd: str, encoded: str) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        await JOB_OPERATIONS[name](client, odd, "t1")
    assert recorder.requests
    for request in recorder.requests:
        assert request.url.raw_path.startswith(f"/jobs/{encoded}/".encode())
        _verify_signature(request)


@pytest.mark.parametrize(("odd", "encoded"), ODD_IDS)
@pytest.mark.parametrize("name", sorted(TASK_OPERATIONS))
async def test_odd_task_ids_stay_in_their_segment(name: str, odd: str, encoded: str) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        await TASK_OPERATIONS[name](client, "job-1", odd)
    [request] = recorder.requests
    path = request.url.raw_path.split(b"?")[0]
    assert path.startswith(f"/jobs/job-1/tasks/{encoded}".encode())
    rest = path[len(f"/jobs/job-1/tasks/{encoded}") :]
    assert rest in (
        b"",
        b"/terminate",
        b"/reactivate",
        b"/subtasksinfo",
        b"/files",
        b"/files/stdout.txt",
    )
    _verify_signature(request)


@pytest.mark.parametrize("bad", [None, "", 5, b"job"])
async def test_ids_must_be_non_empty_strings(bad: Any) -> None:
    with pytest.raises(errors.ClientValidationError, match="non-empty string"):
        routes.task("job-1", bad)
    with pytest.raises(errors.ClientValidationError, match="non-empty string"):
        routes.tasks(bad)


def test_task_file_paths_keep_each_part_in_its_segment() -> None:
    assert routes.task_file("j", "t", "wd/out put.txt") == "/jobs/j/tasks/t/files/wd/out%20put.txt"
    for bad in ["wd/../../x", "./x", "a//b", "", "/"]:
        with pytest.raises(errors.ClientValidationError):
            routes.task_file("j", "t", bad)


#: A dot segment anywhere in a file path: refused before anything is sent.
DOT_FILE_PATHS = [
    shape.format(dot)
    for dot in DOT_IDS
    for shape in ("{}", "wd/{}", "{}/stdout.txt", "wd/{}/x", "/wd/{}/")
]


@pytest.mark.parametrize("bad", DOT_FILE_PATHS)
@pytest.mark.parametrize("name", sorted(FILE_OPERATIONS))
async def test_dot_segments_in_file_paths_are_refused_before_sending(name: str, bad: str) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="file_path"):
            await FILE_OPERATIONS[name](client, "job-1", "t1", bad)
    assert recorder.requests == []


@pytest.mark.parametrize("bad", ["", "/", "//", "wd//x", None, 5])
@pytest.mark.parametrize("name", sorted(FILE_OPERATIONS))
async def test_empty_file_paths_and_segments_are_refused(name: str, bad: Any) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="file_path"):
            await FILE_OPERATIONS[name](client, "job-1", "t1", bad)
    assert recorder.requests == []


#: File paths and how they go on the wire: ``/`` separates segments, each encoded on its own.
FILE_PATHS = [
    ("stdout.txt", "stdout.txt"),
    ("wd/out put.txt", "wd/out%20put.txt"),
    ("/wd/sub/result.json", "wd/sub/result.json"),
    ("wd/", "wd"),
    *[(f"wd/{odd}", f"wd/{encoded}") for odd, encoded in ODD_IDS if "/" not in odd],
]


@pytest.mark.parametrize(("file_path", "encoded"), FILE_PATHS)
@pytest.mark.parametrize("name", sorted(FILE_OPERATIONS))
async def test_file_path_segments_stay_in_the_task_files(
    name: str, file_path: str, encoded: str
) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        await FILE_OPERATIONS[name](client, "job/1", "t#1", file_path)
    [request] = recorder.requests
    path = request.url.raw_path.split(b"?")[0]
    assert path == f"/jobs/job%2F1/tasks/t%231/files/{encoded}".encode()
    _verify_signature(request)


@pytest.mark.parametrize("bad", DOT_IDS)
@pytest.mark.parametrize("name", sorted(FILE_OPERATIONS))
async def test_dot_ids_are_refused_for_file_operations(name: str, bad: str) -> None:
    recorder = Recorder()
    async with client_for(recorder) as client:
        with pytest.raises(errors.ClientValidationError, match="job_id"):
            await FILE_OPERATIONS[name](client, bad, "t1", "stdout.txt")
        with pytest.raises(errors.ClientValidationError, match="task_id"):
            await FILE_OPERATIONS[name](client, "job-1", bad, "stdout.txt")
    assert recorder.requests == []
