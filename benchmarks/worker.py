"""One benchmark measurement in a clean interpreter: one SDK, one scenario, one JSON line out.

The harness starts this module once per measurement, so no SDK shares a process, an import
or a warmed-up cache with another::

    python -m benchmarks.worker '{"sdk": "this", "scenario": "bulk", "url": ..., ...}'
    benchmarks/.work/venv-azure-batch-14/bin/python benchmarks/worker.py '{...}'

The second form runs the legacy ``azure-batch`` 14.x in its own virtualenv, which has neither
this package nor the harness installed: this file therefore imports only the standard library
at the top and each SDK inside its own runner.

SDKs (``sdk``):

* ``this``: ``batch_tasks_async`` ``client.task.add_collection(job, generator, concurrency=N)``.
* ``this-stream``: ``batch_tasks_async`` ``client.task.stream_add_collection(...)``, each
  result consumed and dropped (the memory section's flat-memory variant).
* ``this-counts``: ``add_collection(..., return_results=False)``: counts and failures only, no
  object kept per success (the memory section).
* ``this-httpx``: ``add_collection`` on a ``BatchClient(http_client=httpx.AsyncClient(...))``
  the caller made: httpx's own client and httpcore's stock pool.
* ``floor``: no SDK: a raw asyncio client that sends request bytes computed before the timer
  starts (the same bodies this SDK sends) over ``N`` keep-alive connections and counts
  ``Success`` in the replies. What the machine, the loop and the server allow; a reference.
* ``official-sync``: ``azure.batch.BatchClient.create_tasks(job, list, max_concurrency=N)``
  (N threads).
* ``official-aio``: ``azure.batch.aio.BatchClient.create_tasks(job, list, max_concurrency=N)``
  (N coroutines on aiohttp).
* ``legacy-14``: ``azure.batch`` 14.x ``client.task.add_collection(job, list, threads=N)``.

Scenarios (``scenario``): ``bulk`` (submit ``count`` tasks: time, CPU, outcome), ``memory``
(the same with peak RSS; the official SDKs take a list, so the list is built first, as their
users must), ``list`` (iterate every task of ``job`` into models).

Timing starts before the first task model is built, so every SDK pays for its own models; the
CPU time is ``time.process_time()`` of the whole process (all threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

__all__ = [
    "ALL_SDKS",
    "RESULT_PREFIX",
    "SDKS",
    "VARIANTS",
    "WorkerSpec",
    "main",
    "run_spec",
    "task_id",
]

#: The line of stdout the harness parses starts with this.
RESULT_PREFIX = "BENCH-RESULT "

#: The SDKs a worker can drive. ``SDKS`` are the rows of every section; the variants of this
#: SDK and the floor are added where the harness measures them.
SDKS = ("this", "official-aio", "official-sync", "legacy-14")
VARIANTS = ("this-stream", "this-counts", "this-httpx", "floor")
ALL_SDKS = (*SDKS, *VARIANTS)

#: Jobs used by the warm-up (it adds ``WARMUP_TASKS`` tasks before the measured run).
WARMUP_JOB = "bench-warmup"
WARMUP_TASKS = 200

WorkerSpec = dict[str, Any]


def task_id(prefix: str, index: int) -> str:
    """The id of task ``index`` of a run (the harness counts lost tasks by these ids)."""
    return f"{prefix}{index:07d}"


def command_line(index: int) -> str:
    """The command line of task ``index``."""
    return f'/bin/sh -c "echo task {index}"'


def _peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _quiet_logs() -> None:
    # The sync SDKs' urllib3 pool warns for every connection beyond its 10 pooled ones when
    # more threads than that run; the warning text would only flood the harness's logs.
    for name in ("urllib3", "azure", "msrest", "aiohttp"):
        logging.getLogger(name).setLevel(logging.ERROR)


class _Timer:
    """Wall and process CPU time of the measured part of a run."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self._wall0 = 0.0
        self._cpu0 = 0.0

    def start(self) -> None:
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._wall0
        self.cpu = time.process_time() - self._cpu0


def _outcome(
    timer: _Timer,
    *,
    count: int,
    reported_added: int,
    reported_failed: int,
    raised: str | None,
    base_rss: int,
) -> dict[str, Any]:
    return {
        "ok": raised is None and reported_failed == 0 and reported_added == count,
        "wall_s": timer.wall,
        "cpu_s": timer.cpu,
        "count": count,
        "reported_added": reported_added,
        "reported_failed": reported_failed,
        "raised": raised,
        "base_rss_bytes": base_rss,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


async def _timed(count: int, submit: Callable[[], Awaitable[int]]) -> dict[str, Any]:
    """Time ``submit()`` (which returns how many tasks were reported added) after a GC pass."""
    gc.collect()
    base_rss = _current_rss_bytes()
    timer = _Timer()
    timer.start()
    raised: str | None = None
    added = 0
    try:
        added = await submit()
    except Exception as exc:
        raised = _describe(exc)
    timer.stop()
    return _outcome(
        timer,
        count=count,
        reported_added=added,
        reported_failed=count - added,
        raised=raised,
        base_rss=base_rss,
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]


# -- this SDK -----------------------------------------------------------------------------------


def _run_this(spec: WorkerSpec) -> dict[str, Any]:
    import batch_tasks_async as bta
    from batch_tasks_async import models

    variant = spec["sdk"]
    stream = variant == "this-stream"
    success = models.TaskAddStatus.SUCCESS
    counts_only: dict[str, Any] = {}
    if variant == "this-counts":
        import attrs

        options = getattr(bta, "BulkOptions", None)
        if options is None or "return_results" not in attrs.fields_dict(options):
            return {"ok": False, "raised": "skipped: add_collection has no return_results"}
        counts_only["return_results"] = False

    def generate(prefix: str, count: int) -> Iterator[models.TaskAddParameter]:
        for i in range(count):
            yield models.TaskAddParameter(id=task_id(prefix, i), command_line=command_line(i))

    async def submit(client: bta.BatchClient, job: str, prefix: str, count: int) -> int:
        """Submit ``count`` tasks; return how many the SDK reported added."""
        concurrency = int(spec["concurrency"])
        if stream:
            added = 0
            async with client.task.stream_add_collection(
                job, generate(prefix, count), concurrency=concurrency, raise_on_failure=False
            ) as results:
                async for result in results:
                    added += result.status == success
            return added
        collection = await client.task.add_collection(
            job,
            generate(prefix, count),
            concurrency=concurrency,
            raise_on_failure=False,
            **counts_only,
        )
        if counts_only:
            # Only the tasks not added are kept: whatever is not among them was added.
            return count - len(collection.value or [])
        return sum(1 for result in collection.value or [] if result.status == success)

    async def main() -> dict[str, Any]:
        credential = bta.SharedKeyCredential(spec["account_name"], spec["account_key"])
        own_client = None
        if variant == "this-httpx":
            import httpx

            conc = int(spec.get("concurrency") or 1)
            own_client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc),
                timeout=60.0,
                trust_env=False,
            )
        async with (
            own_client if own_client is not None else contextlib.nullcontext(),
            bta.BatchClient(spec["url"], credential=credential, http_client=own_client) as client,
        ):
            if spec["scenario"] == "list":
                return await _list_this(client, spec)
            if spec.get("warmup"):
                await submit(client, WARMUP_JOB, "warm-", WARMUP_TASKS)
            count = int(spec["count"])
            return await _timed(
                count, lambda: submit(client, spec["job_id"], spec["id_prefix"], count)
            )

    return asyncio.run(main())


async def _list_this(client: Any, spec: WorkerSpec) -> dict[str, Any]:
    timer = _Timer()
    seen = 0
    raised: str | None = None
    base_rss = _current_rss_bytes()
    timer.start()
    try:
        async for _task in client.task.list(spec["job_id"], max_results=1000):
            seen += 1
    except Exception as exc:
        raised = _describe(exc)
    timer.stop()
    return _list_outcome(timer, seen, raised, int(spec["count"]), base_rss)


def _list_outcome(
    timer: _Timer, seen: int, raised: str | None, expected: int, base_rss: int
) -> dict[str, Any]:
    return {
        "ok": raised is None and seen == expected,
        "wall_s": timer.wall,
        "cpu_s": timer.cpu,
        "count": seen,
        "expected": expected,
        "raised": raised,
        "base_rss_bytes": base_rss,
        "peak_rss_bytes": _peak_rss_bytes(),
    }


# -- the official azure-batch 15.x ----------------------------------------------------------------


def _official_tasks(models: Any, prefix: str, count: int) -> list[Any]:
    return [
        models.BatchTaskCreateOptions(id=task_id(prefix, i), command_line=command_line(i))
        for i in range(count)
    ]


def _official_outcome_from_error(exc: BaseException, count: int) -> tuple[int, int, str]:
    """What ``CreateTasksError`` tells its user: the tasks it did not add, and why."""
    pending = len(getattr(exc, "pending_tasks", None) or [])
    failures = len(getattr(exc, "failure_tasks", None) or [])
    failed = min(count, pending + failures)
    return count - failed, failed, _describe(exc)


def _official_credential(spec: WorkerSpec) -> Any:
    from azure.core.credentials import AzureNamedKeyCredential

    return AzureNamedKeyCredential(spec["account_name"], spec["account_key"])


def _run_official_sync(spec: WorkerSpec) -> dict[str, Any]:
    batch = importlib.import_module("azure.batch")
    models = importlib.import_module("azure.batch.models")
    client = batch.BatchClient(spec["url"], credential=_official_credential(spec))
    with client:
        if spec["scenario"] == "list":
            timer = _Timer()
            seen = 0
            raised: str | None = None
            base_rss = _current_rss_bytes()
            timer.start()
            try:
                for _task in client.list_tasks(spec["job_id"], max_results=1000):
                    seen += 1
            except Exception as exc:
                raised = _describe(exc)
            timer.stop()
            return _list_outcome(timer, seen, raised, int(spec["count"]), base_rss)
        concurrency = int(spec["concurrency"])
        if spec.get("warmup"):
            client.create_tasks(
                WARMUP_JOB,
                _official_tasks(models, "warm-", WARMUP_TASKS),
                max_concurrency=concurrency,
            )
        gc.collect()
        base_rss = _current_rss_bytes()
        count = int(spec["count"])
        timer = _Timer()
        timer.start()
        raised = None
        try:
            tasks = _official_tasks(models, spec["id_prefix"], count)
            result = client.create_tasks(spec["job_id"], tasks, max_concurrency=concurrency)
            del tasks
            added = sum(1 for r in result.result_values or [] if _official_success(r))
            failed = count - added
        except Exception as exc:
            added, failed, raised = _official_outcome_from_error(exc, count)
        timer.stop()
        return _outcome(
            timer,
            count=count,
            reported_added=added,
            reported_failed=failed,
            raised=raised,
            base_rss=base_rss,
        )


def _official_success(result: Any) -> bool:
    return str(getattr(result, "status", "")).lower().endswith("success")


def _run_official_aio(spec: WorkerSpec) -> dict[str, Any]:
    aio = importlib.import_module("azure.batch.aio")
    models = importlib.import_module("azure.batch.models")

    async def main() -> dict[str, Any]:
        client = aio.BatchClient(spec["url"], credential=_official_credential(spec))
        async with client:
            if spec["scenario"] == "list":
                timer = _Timer()
                seen = 0
                raised: str | None = None
                base_rss = _current_rss_bytes()
                timer.start()
                try:
                    async for _task in client.list_tasks(spec["job_id"], max_results=1000):
                        seen += 1
                except Exception as exc:
                    raised = _describe(exc)
                timer.stop()
                return _list_outcome(timer, seen, raised, int(spec["count"]), base_rss)
            concurrency = int(spec["concurrency"])
            if spec.get("warmup"):
                await client.create_tasks(
                    WARMUP_JOB,
                    _official_tasks(models, "warm-", WARMUP_TASKS),
                    max_concurrency=concurrency,
                )
            gc.collect()
            base_rss = _current_rss_bytes()
            count = int(spec["count"])
            timer = _Timer()
            timer.start()
            raised = None
            try:
                tasks = _official_tasks(models, spec["id_prefix"], count)
                result = await client.create_tasks(
                    spec["job_id"], tasks, max_concurrency=concurrency
                )
                del tasks
                added = sum(1 for r in result.result_values or [] if _official_success(r))
                failed = count - added
            except Exception as exc:
                added, failed, raised = _official_outcome_from_error(exc, count)
            timer.stop()
            return _outcome(
                timer,
                count=count,
                reported_added=added,
                reported_failed=failed,
                raised=raised,
                base_rss=base_rss,
            )

    return asyncio.run(main())


# -- the legacy azure-batch 14.x (msrest) -------------------------------------------------------


def _run_legacy(spec: WorkerSpec) -> dict[str, Any]:
    batch = importlib.import_module("azure.batch")
    auth = importlib.import_module("azure.batch.batch_auth")
    models = importlib.import_module("azure.batch.models")
    credentials = auth.SharedKeyCredentials(spec["account_name"], spec["account_key"])
    client = batch.BatchServiceClient(credentials, batch_url=spec["url"])

    def tasks(prefix: str, count: int) -> list[Any]:
        return [
            models.TaskAddParameter(id=task_id(prefix, i), command_line=command_line(i))
            for i in range(count)
        ]

    if spec["scenario"] == "list":
        timer = _Timer()
        seen = 0
        raised: str | None = None
        base_rss = _current_rss_bytes()
        timer.start()
        try:
            options = models.TaskListOptions(max_results=1000)
            for _task in client.task.list(spec["job_id"], task_list_options=options):
                seen += 1
        except Exception as exc:
            raised = _describe(exc)
        timer.stop()
        return _list_outcome(timer, seen, raised, int(spec["count"]), base_rss)
    concurrency = int(spec["concurrency"])
    if spec.get("warmup"):
        client.task.add_collection(WARMUP_JOB, tasks("warm-", WARMUP_TASKS), threads=concurrency)
    gc.collect()
    base_rss = _current_rss_bytes()
    count = int(spec["count"])
    timer = _Timer()
    timer.start()
    raised = None
    try:
        task_list = tasks(spec["id_prefix"], count)
        result = client.task.add_collection(spec["job_id"], task_list, threads=concurrency)
        del task_list
        added = sum(1 for r in result.value or [] if _official_success(r))
        failed = count - added
    except Exception as exc:
        added, failed, raised = _official_outcome_from_error(exc, count)
    timer.stop()
    return _outcome(
        timer,
        count=count,
        reported_added=added,
        reported_failed=failed,
        raised=raised,
        base_rss=base_rss,
    )


# -- the floor: no SDK, request bytes made before the timer starts ----------------------------


def _floor_requests(spec: WorkerSpec, job: str, prefix: str, count: int) -> list[bytes]:
    """Every add-collection request of a run, head and body, as this SDK would send them."""
    from urllib.parse import urlsplit

    split = urlsplit(spec["url"])
    host = split.netloc
    requests: list[bytes] = []
    for start in range(0, count, 100):
        tasks = [
            {"id": task_id(prefix, i), "commandLine": command_line(i)}
            for i in range(start, min(start + 100, count))
        ]
        body = json.dumps({"value": tasks}, separators=(",", ":")).encode()
        head = (
            f"POST /jobs/{job}/addtaskcollection?api-version=2024-07-01.20.0 HTTP/1.1\r\n"
            f"host: {host}\r\ncontent-type: application/json; odata=minimalmetadata\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    return requests


async def _floor_connect(host: str, port: int, concurrency: int) -> list[Any]:
    """``concurrency`` keep-alive connections, opened before the timer starts (the SDKs'
    connections are already open after their warm-up)."""
    return [await asyncio.open_connection(host, port) for _ in range(concurrency)]


async def _floor_send(connections: list[Any], requests: list[bytes]) -> int:
    """Send ``requests`` over ``connections``, one in flight on each; count ``Success``."""
    queue = iter(requests)
    added = 0

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal added
        for request in queue:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            start = head.find(b"content-length:") + 15
            length = int(head[start : head.find(b"\r\n", start)])
            body = await reader.readexactly(length)
            added += body.count(b'"status":"Success"')

    await asyncio.gather(*(connection(reader, writer) for reader, writer in connections))
    return added


def _run_floor(spec: WorkerSpec) -> dict[str, Any]:
    from urllib.parse import urlsplit

    split = urlsplit(spec["url"])
    host, port = split.hostname or "127.0.0.1", split.port or 80
    concurrency = int(spec["concurrency"])
    count = int(spec["count"])

    async def main() -> dict[str, Any]:
        connections = await _floor_connect(host, port, concurrency)
        if spec.get("warmup"):
            await _floor_send(connections, _floor_requests(spec, WARMUP_JOB, "warm-", WARMUP_TASKS))
        requests = _floor_requests(spec, spec["job_id"], spec["id_prefix"], count)
        try:
            return await _timed(count, lambda: _floor_send(connections, requests))
        finally:
            for _reader, writer in connections:
                writer.close()

    return asyncio.run(main())


_RUNNERS: dict[str, Callable[[WorkerSpec], dict[str, Any]]] = {
    "this": _run_this,
    "this-stream": _run_this,
    "this-counts": _run_this,
    "this-httpx": _run_this,
    "floor": _run_floor,
    "official-sync": _run_official_sync,
    "official-aio": _run_official_aio,
    "legacy-14": _run_legacy,
}


def run_spec(spec: WorkerSpec) -> dict[str, Any]:
    """Run one measurement; never raises (an error becomes ``ok: false`` with its text)."""
    _quiet_logs()
    runner = _RUNNERS.get(spec.get("sdk", ""))
    if runner is None:
        return {"ok": False, "raised": f"unknown sdk {spec.get('sdk')!r}; known: {ALL_SDKS}"}
    try:
        result = runner(spec)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        result = {"ok": False, "raised": _describe(exc), "peak_rss_bytes": _peak_rss_bytes()}
    result["sdk"] = spec["sdk"]
    result["python"] = sys.version.split()[0]
    result["sdk_version"] = _sdk_version(spec["sdk"])
    return result


def _sdk_version(sdk: str) -> str:
    from importlib import metadata

    if sdk == "floor":
        return "-"
    name = "batch-tasks-async" if sdk.startswith("this") else "azure-batch"
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _iter_argv_specs(argv: list[str]) -> Iterator[WorkerSpec]:
    for arg in argv:
        spec = json.loads(arg)
        if not isinstance(spec, dict):
            raise SystemExit("each argument must be a JSON object")
        yield spec


def main(argv: list[str] | None = None) -> None:
    """Run the measurement given as a JSON argument and print its result line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m benchmarks.worker '<json spec>'")
    for spec in _iter_argv_specs(args):
        print(RESULT_PREFIX + json.dumps(run_spec(spec)), flush=True)


if __name__ == "__main__":
    main()
