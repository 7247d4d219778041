"""A minimal Batch Task server on the standard library only (``asyncio`` streams + ``json``).

It is the second server of the benchmarks, to show that the emulator is not what limits a
client: it verifies nothing and stores nothing but counters.

* ``POST /jobs/{job}/addtaskcollection`` answers ``Success`` for every task in the body, after
  ``--latency-ms`` (an async sleep, so requests overlap).
* ``POST /jobs/{job}/tasks`` (single add) answers 201.
* ``GET /jobs/{job}/tasks`` answers pages of ``--list-tasks`` synthetic completed tasks
  (``maxresults`` per page, at most 1000) linked by ``odata.nextLink``.
* ``GET /_stats`` answers the counters as JSON, ``POST /_reset`` zeroes them.

Run it as ``python -m benchmarks.stdlib_server --port 0``; it prints
``stdlib server listening on http://127.0.0.1:PORT`` once bound. It binds loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
from collections import Counter
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

__all__ = ["StdlibBatchServer", "StdlibServerThread", "main", "serve"]

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
}

_ISO_TIME = "2025-06-01T12:00:00.0000000Z"
_ETAG = "0x8DDA0F1E2B3C4D5"

#: One listed task; ``%(id)s`` and ``%(base)s`` are filled in per item.
_TASK_TEMPLATE = (
    '{"id":"%(id)s","url":"%(base)s/jobs/%(job)s/tasks/%(id)s","eTag":"' + _ETAG + '",'
    '"creationTime":"' + _ISO_TIME + '","lastModified":"' + _ISO_TIME + '",'
    '"state":"completed","stateTransitionTime":"' + _ISO_TIME + '",'
    '"previousState":"running","previousStateTransitionTime":"' + _ISO_TIME + '",'
    '"commandLine":"/bin/sh -c \\"echo %(id)s\\"",'
    '"constraints":{"maxWallClockTime":"P10675199DT2H48M5.4775807S",'
    '"retentionTime":"P7D","maxTaskRetryCount":0},'
    '"executionInfo":{"startTime":"' + _ISO_TIME + '","endTime":"' + _ISO_TIME + '",'
    '"exitCode":0,"result":"success","retryCount":0,"requeueCount":0},'
    '"nodeInfo":{"affinityId":"TVM:tvm-1","nodeUrl":"%(base)s/pools/p/nodes/tvm-1",'
    '"poolId":"p","nodeId":"tvm-1","taskRootDirectory":"workitems/%(job)s/job-1/%(id)s",'
    '"taskRootDirectoryUrl":"%(base)s/pools/p/nodes/tvm-1/files/workitems/%(job)s/%(id)s"},'
    '"userIdentity":{"autoUser":{"scope":"pool","elevationLevel":"nonadmin"}}}'
)


class _BadRequestError(Exception):
    """The request could not be parsed; the connection is answered 400 and closed."""


class StdlibBatchServer:
    """The server's state and request handling (one instance per listening socket).

    Args:
        latency_ms: Added latency of every add-collection and add request.
        list_tasks: How many synthetic tasks a list of any job returns.
    """

    def __init__(self, *, latency_ms: float = 0.0, list_tasks: int = 0) -> None:
        self.latency = max(0.0, latency_ms) / 1000.0
        self.list_tasks = max(0, list_tasks)
        self.tasks_added = 0
        self.tasks_added_per_job: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.items_listed = 0

    def stats(self) -> dict[str, Any]:
        """The counters, as ``GET /_stats`` answers them."""
        return {
            "tasks_added": self.tasks_added,
            "tasks_added_per_job": dict(self.tasks_added_per_job),
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "items_listed": self.items_listed,
        }

    def reset(self) -> None:
        """Zero every counter."""
        self.tasks_added = 0
        self.tasks_added_per_job.clear()
        self.requests.clear()
        self.items_listed = 0

    async def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer one request: ``(status, body, extra headers)``."""
        split = urlsplit(target)
        parts = [p for p in split.path.split("/") if p]
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        base = f"http://{headers.get('host', '127.0.0.1')}"
        if parts == ["_stats"] and method == "GET":
            return 200, json.dumps(self.stats()).encode(), {}
        if parts == ["_reset"] and method == "POST":
            self.reset()
            return 204, b"", {}
        if len(parts) == 3 and parts[0] == "jobs":
            job = parts[1]
            if parts[2] == "addtaskcollection" and method == "POST":
                self.requests["task_add_collection"] += 1
                return await self._add_collection(base, job, body)
            if parts[2] == "tasks" and method == "POST":
                self.requests["task_add"] += 1
                return await self._add_one(base, job, body)
            if parts[2] == "tasks" and method == "GET":
                self.requests["task_list"] += 1
                return self._list_page(base, job, query)
        return _error(404, "ResourceNotFound", "The specified resource does not exist.")

    async def _add_collection(
        self, base: str, job: str, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            values = json.loads(body)["value"]
            ids = [str(task["id"]) for task in values]
        except (ValueError, KeyError, TypeError):
            return _error(400, "InvalidRequestBody", "The request body is not a task collection.")
        if self.latency:
            await asyncio.sleep(self.latency)
        self.tasks_added += len(ids)
        self.tasks_added_per_job[job] += len(ids)
        prefix = f"{base}/jobs/{job}/tasks/"
        results = [
            {
                "status": "Success",
                "taskId": task_id,
                "eTag": _ETAG,
                "lastModified": _ISO_TIME,
                "location": prefix + task_id,
            }
            for task_id in ids
        ]
        payload = {"odata.metadata": f"{base}/$metadata#taskaddresult", "value": results}
        return 200, json.dumps(payload, separators=(",", ":")).encode(), {}

    async def _add_one(self, base: str, job: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        try:
            task_id = str(json.loads(body)["id"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "InvalidRequestBody", "The request body is not a task.")
        if self.latency:
            await asyncio.sleep(self.latency)
        self.tasks_added += 1
        self.tasks_added_per_job[job] += 1
        url = f"{base}/jobs/{job}/tasks/{task_id}"
        return 201, b"", {"etag": _ETAG, "location": url, "dataserviceid": url}

    def _list_page(
        self, base: str, job: str, query: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            size = min(1000, max(1, int(query.get("maxresults", "1000"))))
            start = max(0, int(query.get("$skiptoken", "0")))
        except ValueError:
            return _error(400, "InvalidQueryParameterValue", "maxresults or $skiptoken is bad.")
        end = min(self.list_tasks, start + size)
        items = ",".join(
            _TASK_TEMPLATE % {"id": f"task-{i:07d}", "base": base, "job": job}
            for i in range(start, end)
        )
        self.items_listed += max(0, end - start)
        page = f'{{"odata.metadata":"{base}/$metadata#tasks","value":[{items}]'
        if end < self.list_tasks:
            api_version = quote(query.get("api-version", ""), safe=".-")
            link = (
                f"{base}/jobs/{job}/tasks?api-version={api_version}"
                f"&maxresults={size}&$skiptoken={end}"
            )
            page += f',"odata.nextLink":"{link}"'
        return 200, (page + "}").encode(), {}

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve HTTP/1.1 keep-alive requests on one connection until the client closes it."""
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                try:
                    method, target, headers = _parse_head(head)
                    body = await _read_body(reader, headers)
                except _BadRequestError:
                    writer.write(_response(400, b"", {"connection": "close"}))
                    await writer.drain()
                    return
                status, payload, extra = await self.handle(method, target, headers, body)
                close = headers.get("connection", "").lower() == "close"
                if close:
                    extra["connection"] = "close"
                writer.write(_response(status, payload, extra))
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def _error(status: int, code: str, message: str) -> tuple[int, bytes, dict[str, str]]:
    payload: dict[str, Any] = {
        "odata.metadata": "$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors",
        "code": code,
        "message": {"lang": "en-US", "value": message},
    }
    return status, json.dumps(payload).encode(), {}


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
    except (UnicodeDecodeError, ValueError):
        raise _BadRequestError from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequestError
        headers[name.strip().lower()] = value.strip()
    return method.upper(), target, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        for _ in range(1_000_000):
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequestError from None
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        raise _BadRequestError
    length = headers.get("content-length")
    if not length:
        return b""
    try:
        count = int(length)
    except ValueError:
        raise _BadRequestError from None
    if count < 0:
        raise _BadRequestError
    return await reader.readexactly(count)


def _response(status: int, body: bytes, extra: dict[str, str]) -> bytes:
    headers = {
        "content-type": "application/json;odata=minimalmetadata" if body else "",
        "content-length": str(len(body)),
        "dataserviceversion": "3.0",
        "request-id": "00000000-0000-0000-0000-000000000000",
        "date": formatdate(usegmt=True),
        **extra,
    }
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if value]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def serve(
    server: StdlibBatchServer,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: asyncio.Future[int] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``server`` on ``host:port`` until ``stop`` is set (forever without one).

    ``ready`` receives the bound port once the socket listens.
    """
    listener = await asyncio.start_server(
        server.serve_connection, host, port, backlog=4096, limit=16 * 1024 * 1024
    )
    bound = int(listener.sockets[0].getsockname()[1])
    if ready is not None:
        ready.set_result(bound)
    async with listener:
        if stop is None:
            await listener.serve_forever()
        else:
            await stop.wait()


class StdlibServerThread:
    """The server on a background thread with its own event loop (for tests and notebooks).

    Use it as a context manager; ``url`` is set once it listens::

        with StdlibServerThread(StdlibBatchServer(list_tasks=10)) as url:
            ...
    """

    def __init__(self, server: StdlibBatchServer, *, startup_timeout: float = 10.0) -> None:
        self.server = server
        self.startup_timeout = startup_timeout
        self.url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> str:
        port_box: list[int] = []

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready: asyncio.Future[int] = self._loop.create_future()

            def announce(done: asyncio.Future[int]) -> None:
                port_box.append(done.result())
                self._ready.set()

            ready.add_done_callback(announce)
            await serve(self.server, "127.0.0.1", 0, ready=ready, stop=self._stop)

        def target() -> None:
            try:
                asyncio.run(run())
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
                self._ready.set()

        self._thread = threading.Thread(target=target, name="stdlib-batch-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.startup_timeout) or not port_box:
            raise RuntimeError(f"the stdlib server did not start: {self._error!r}")
        self.url = f"http://127.0.0.1:{port_box[0]}"
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(10.0)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``python -m benchmarks.stdlib_server [--port P] [--latency-ms L]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stdlib_server")
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost", "::1"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--list-tasks", type=int, default=0, help="tasks a list returns")
    args = parser.parse_args(argv)
    server = StdlibBatchServer(latency_ms=args.latency_ms, list_tasks=args.list_tasks)

    async def run() -> None:
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(server, args.host, args.port, ready=ready))
        port = await ready
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"stdlib server listening on http://{shown}:{port}", flush=True)
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    sys.exit(0)


if __name__ == "__main__":
    main()
