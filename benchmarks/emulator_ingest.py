"""How fast the emulator ingests add-collection requests (tasks committed per second).

The emulator runs in its own process pinned to one CPU (uvicorn, httptools, uvloop, one
worker). This process is the load generator, pinned to another CPU: a lean raw-socket HTTP/1.1
client on uvloop with several keep-alive connections, each sending pre-built add-collection
bodies of ``--tasks-per-request`` small tasks with unique ids. The committed-task count comes
from the emulator's own ``/_emulator/stats``, and both processes' CPU use is reported so the
run says which side was the limit (a side near 100 % of one core is the bottleneck).

Loopback only; the run is bounded by ``--seconds``.

    .venv/bin/python benchmarks/emulator_ingest.py --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import sys
import time
from collections.abc import Callable, Coroutine
from email.utils import formatdate
from typing import Any

import orjson

from batch_tasks_async.emulator import EmulatorConfig, EmulatorProcess
from batch_tasks_async.emulator._auth import sign

API_VERSION = "2024-07-01.20.0"
JOB = "bench-job"


def _body(prefix: str, request: int, per_request: int) -> bytes:
    return orjson.dumps(
        {
            "value": [
                {"id": f"{prefix}-r{request}-t{i}", "commandLine": "/bin/sh -c 'echo hi'"}
                for i in range(per_request)
            ]
        }
    )


def _request(host: str, body: bytes, auth: tuple[str, bytes] | None) -> bytes:
    path = f"/jobs/{JOB}/addtaskcollection"
    headers = [
        f"POST {path}?api-version={API_VERSION} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json; odata=minimalmetadata",
        f"Content-Length: {len(body)}",
    ]
    if auth is not None:
        account, key = auth
        date = formatdate(usegmt=True)
        string_to_sign = (
            f"POST\n\n\n{len(body)}\n\napplication/json; odata=minimalmetadata\n\n\n\n\n\n\n"
            f"ocp-date:{date}\n/{account}{path}\napi-version:{API_VERSION}"
        )
        headers.append(f"ocp-date: {date}")
        headers.append(f"Authorization: SharedKey {account}:{sign(key, string_to_sign)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def _worker(
    prefix: str,
    host: str,
    port: int,
    per_request: int,
    deadline: float,
    auth: tuple[str, bytes] | None,
    counts: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request_no = 0
    next_payload = _request(f"{host}:{port}", _body(prefix, 0, per_request), auth)
    while time.monotonic() < deadline:
        writer.write(next_payload)
        request_no += 1
        # Build the next request while this one is in flight.
        next_payload = _request(f"{host}:{port}", _body(prefix, request_no, per_request), auth)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"unexpected {status}: {body[:300]!r}")
        counts[0] += 1
    writer.close()


async def _drive(
    phase: str,
    host: str,
    port: int,
    connections: int,
    per_request: int,
    seconds: float,
    auth: tuple[str, bytes] | None,
) -> int:
    counts = [0]
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(
            _worker(f"{phase}{c}", host, port, per_request, deadline, auth, counts)
            for c in range(connections)
        )
    )
    return counts[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured run time (max 60)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured warm-up seconds")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--tasks-per-request", type=int, default=100)
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the emulator is pinned to")
    parser.add_argument("--client-cpu", type=int, default=1, help="CPU the load generator uses")
    parser.add_argument("--shared-key", action="store_true", help="sign requests (Shared Key)")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 0.5), 60.0)
    ncpu = os.cpu_count() or 1
    if hasattr(os, "sched_setaffinity") and ncpu > 1:
        os.sched_setaffinity(0, {args.client_cpu % ncpu})
    key = base64.b64encode(b"benchmark-key-benchmark-key-1234").decode()
    config = EmulatorConfig(
        jobs=(JOB,),
        account_name="bench",
        account_key=key if args.shared_key else None,
        lifecycle="manual",
    )
    auth = ("bench", base64.b64decode(key)) if args.shared_key else None
    server_cpu = args.server_cpu % ncpu if ncpu > 1 else None
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        loop_factory = asyncio.new_event_loop

    def runner(coro: Coroutine[Any, Any, int]) -> int:
        with asyncio.Runner(loop_factory=loop_factory) as loop_runner:
            return loop_runner.run(coro)

    with EmulatorProcess(config, cpu=server_cpu) as proc:
        assert proc.url is not None
        hostport = proc.url.removeprefix("http://")
        host, port = hostport.rsplit(":", 1)
        runner(
            _drive(
                "w", host, int(port), args.connections, args.tasks_per_request, args.warmup, auth
            )
        )
        before = proc.stats()["tasks_committed"]
        server_cpu_before = proc.cpu_seconds()
        client_before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        requests = runner(
            _drive("m", host, int(port), args.connections, args.tasks_per_request, seconds, auth)
        )
        elapsed = time.perf_counter() - start
        client_after = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu_used = proc.cpu_seconds() - server_cpu_before
        stats = proc.stats()
        committed = stats["tasks_committed"] - before
    client_cpu_used = (client_after.ru_utime - client_before.ru_utime) + (
        client_after.ru_stime - client_before.ru_stime
    )
    rate = committed / elapsed
    server_util = server_cpu_used / elapsed
    client_util = client_cpu_used / elapsed
    print(f"emulator ingest: {committed} tasks committed in {elapsed:.2f} s")
    print(f"  {rate:,.0f} tasks/s  ({requests / elapsed:,.0f} requests/s of "
          f"{args.tasks_per_request} tasks, {args.connections} connections, "
          f"shared key {'on' if args.shared_key else 'off'})")  # fmt: skip
    print(f"  server CPU: {server_util:.0%} of one core (pinned to CPU {server_cpu})")
    print(f"  client CPU: {client_util:.0%} of one core (pinned to CPU {args.client_cpu % ncpu})")
    print(f"  tasks committed more than once: {stats['tasks_committed_more_than_once']}, "
          f"TaskExists answers: {stats['duplicate_add_attempts']}")  # fmt: skip
    if server_util >= 0.9 and client_util < 0.9:
        print("  limit: the emulator (its core is saturated)")
    elif client_util >= 0.9:
        print("  limit: the load generator (its core is saturated); the emulator has headroom")
    else:
        print("  limit: neither core is saturated (latency-bound; add --connections)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
