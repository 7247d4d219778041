"""Client-side CPU per request of the HTTP pipeline, with no network and no server.

A canned transport answers every request at once with the headers the Batch service sends,
so what is measured is the SDK's own work per request: options, URL, headers, the Shared Key
signature, sending (directly to the transport, or through ``httpx.AsyncClient.send``),
reading the reply and building the result.

Configurations, measured in the same process, rounds alternating:

* ``sdk-client``: ``BatchClient(transport=canned)``: the SDK owns the client (the direct send
  path, where the pipeline has it).
* ``user-client``: ``BatchClient(http_client=httpx.AsyncClient(transport=canned))``: a
  caller's client, always through ``client.send``.

With ``--socket`` the requests go to ``benchmarks/stdlib_server.py`` on loopback instead,
through the SDK's default transport (``sdk-client``) or a plain ``httpx.AsyncClient()``
(``user-client``); that server has no terminate, so ``add`` (one task, default retry policy,
answered 201) stands in for it.

Operations: ``terminate`` (bodiless, default retry policy) and ``chunk`` (what the bulk engine
sends: a POST with a 100-task body and retries off, as ``add_collection`` does).

Compare two trees (for example ``main`` and a branch) in alternating pairs with ``--against``::

    git archive fb5470a batch_tasks_async | tar -x -C /tmp/base
    python -m benchmarks.pipeline_cpu --against /tmp/base

Profile one pair alone with py-spy (from a directory where ``batch_tasks_async`` is the tree
you mean)::

    py-spy record -f raw -o base.txt -- python benchmarks/pipeline_cpu.py --worker \
        --only terminate/sdk-client --requests 20000

Each figure is the median over rounds of ``time.process_time()`` per request, in µs; ratios
are taken within one run (absolute times drift with machine load).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import httpx

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="
ENDPOINT = "https://acct.westus.batch.azure.com"
TERMINATE_HEADERS = [
    (b"Content-Length", b"0"),
    (b"Last-Modified", b"Tue, 01 Dec 2026 08:00:00 GMT"),
    (b"ETag", b"0x8DCAFEBEEF00001"),
    (b"Server", b"Microsoft-HTTPAPI/2.0"),
    (b"request-id", b"f8b5d9c2-0000-4000-8000-000000000001"),
    (b"Strict-Transport-Security", b"max-age=31536000; includeSubDomains"),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"DataServiceVersion", b"3.0"),
    (b"DataServiceId", b"https://acct.westus.batch.azure.com/jobs/job-1/tasks/t1"),
    (b"Date", b"Tue, 01 Dec 2026 08:00:00 GMT"),
]
CHUNK_REPLY = json.dumps(
    {"value": [{"status": "success", "taskId": f"t{i}"} for i in range(100)]}
).encode()
CHUNK_BODY = json.dumps(
    {"value": [{"id": f"t{i}", "commandLine": f"echo {i}"} for i in range(100)]}
).encode()


class CannedTransport(httpx.AsyncBaseTransport):
    """Answers every request at once: 204 for terminate, a 100-result body for a chunk."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if request.url.path.endswith("/addtaskcollection"):
            headers = [*TERMINATE_HEADERS[1:], (b"Content-Type", b"application/json")]
            headers.append((b"Content-Length", str(len(CHUNK_REPLY)).encode()))
            return httpx.Response(200, headers=headers, stream=httpx.ByteStream(CHUNK_REPLY))
        return httpx.Response(204, headers=TERMINATE_HEADERS, stream=httpx.ByteStream(b""))


def _make_client(config: str, url: str | None) -> tuple[Any, httpx.AsyncClient | None]:
    from batch_tasks_async import BatchClient, SharedKeyCredential

    credential = SharedKeyCredential("acct", KEY)
    if url is not None:  # a real server: the SDK's default transport, or httpx's own
        if config == "sdk-client":
            return BatchClient(url, credential), None
        http = httpx.AsyncClient()
        return BatchClient(url, credential, http_client=http), http
    if config == "sdk-client":
        return BatchClient(ENDPOINT, credential, transport=CannedTransport()), None
    http = httpx.AsyncClient(transport=CannedTransport())
    return BatchClient(ENDPOINT, credential, http_client=http), http


def _operation(client: Any, name: str) -> Callable[[], Awaitable[Any]]:
    if name == "terminate":
        return lambda: client.task.terminate("job-1", "t1")
    if name == "add":
        task = {"id": "t1", "commandLine": "echo"}
        return lambda: client.task.add("job-1", task)
    from batch_tasks_async import RetryPolicy

    pipeline = client._pipeline
    url = pipeline.url("/jobs/job-1/addtaskcollection")
    no_retries = RetryPolicy.disabled()
    return lambda: pipeline.send("POST", url, content=CHUNK_BODY, retry_policy=no_retries)


async def _measure(config: str, operation: str, requests: int, url: str | None) -> float:
    client, http = _make_client(config, url)
    call = _operation(client, operation)
    async with client:
        for _ in range(min(500, requests)):
            await call()
        start = time.process_time()
        for _ in range(requests):
            await call()
        elapsed = time.process_time() - start
    if http is not None:
        await http.aclose()
    return elapsed / requests * 1e6


OPERATIONS = ("terminate", "chunk")
SOCKET_OPERATIONS = ("add", "chunk")
CONFIGS = ("sdk-client", "user-client")


def worker(
    requests: int,
    backend: str,
    operations: tuple[str, ...] | None = None,
    configs: tuple[str, ...] = CONFIGS,
    url: str | None = None,
) -> dict[str, float]:
    """One measurement of each configuration and operation: µs of CPU per request."""
    if operations is None:
        operations = SOCKET_OPERATIONS if url is not None else OPERATIONS
    results: dict[str, float] = {}
    for operation in operations:
        for config in configs:
            results[f"{operation}/{config}"] = anyio.run(
                _measure, config, operation, requests, url, backend=backend
            )
    return results


def _run_worker(tree: str | None, requests: int, backend: str, url: str | None) -> dict[str, float]:
    # Run this file by path from the tree's own directory, so that ``batch_tasks_async`` is
    # the tree's (through PYTHONPATH) or the installed one, never the current directory's.
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if tree is not None:
        env["PYTHONPATH"] = tree
    command = [sys.executable, os.path.abspath(__file__), "--worker"]
    command += ["--requests", str(requests), "--backend", backend]
    if url is not None:
        command += ["--url", url]
    cwd = tree if tree is not None else os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        command, env=env, cwd=cwd, check=True, capture_output=True, text=True
    ).stdout
    lines = out.strip().splitlines()
    source, figures = lines[-2], json.loads(lines[-1])
    expected = tree if tree is not None else os.path.dirname(os.path.dirname(__file__))
    if not source.startswith(os.path.abspath(expected)):
        raise SystemExit(f"measured {source}, not the tree {expected}")
    return dict(figures)


@contextlib.contextmanager
def _stdlib_server() -> Iterator[str]:
    """``benchmarks/stdlib_server.py`` in its own process; yields its URL."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "benchmarks.stdlib_server", "--port", "0"]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on " not in line:
            raise SystemExit(f"the stdlib server did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--against", help="another tree holding batch_tasks_async (the base)")
    parser.add_argument(
        "--this", help="the tree measured as 'this' (default: the installed batch_tasks_async)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--socket",
        action="store_true",
        help="send to benchmarks/stdlib_server.py on loopback with the default transport",
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        metavar="OPERATION/CONFIG",
        help="with --worker: measure one pair alone (to profile it, e.g. under py-spy)",
    )
    args = parser.parse_args()
    if args.worker:
        import batch_tasks_async

        print(batch_tasks_async.__file__)
        if args.only:
            operation, _, config = args.only.partition("/")
            figures = worker(args.requests, args.backend, (operation,), (config,), args.url)
        else:
            figures = worker(args.requests, args.backend, url=args.url)
        print(json.dumps(figures))
        return
    this = os.path.abspath(args.this) if args.this else None
    trees: dict[str, str | None] = {"this": this}
    if args.against:
        trees = {"base": os.path.abspath(args.against), "this": this}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(_stdlib_server()) if args.socket else None
        for _ in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(_run_worker(tree, args.requests, args.backend, url))
    keys = list(runs["this"][0])
    medians = {n: {k: statistics.median(r[k] for r in rs) for k in keys} for n, rs in runs.items()}
    where = "loopback stdlib server" if args.socket else "canned in-memory transport"
    print(f"client CPU per request, µs (median of {args.rounds} rounds, {args.backend}, {where})")
    header = f"{'operation/config':28}" + "".join(f"{name:>10}" for name in trees)
    print(header + ("   this/base" if args.against else ""))
    for key in keys:
        row = f"{key:28}" + "".join(f"{medians[n][key]:10.1f}" for n in trees)
        if args.against:
            row += f"{medians['this'][key] / medians['base'][key]:12.2f}"
        print(row)
    for name in trees:
        for operation in SOCKET_OPERATIONS if args.socket else OPERATIONS:
            sdk = medians[name][f"{operation}/sdk-client"]
            user = medians[name][f"{operation}/user-client"]
            print(f"{name}: {operation} sdk-client / user-client = {sdk / user:.2f}")


if __name__ == "__main__":
    main()
