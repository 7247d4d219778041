"""What waiting on a big job costs: requests and bytes of ``client.task.wait`` vs a naive loop.

An emulator (its own process) holds one job of ``--tasks`` tasks that complete by themselves,
spread over about ``--spread`` seconds (the ``auto`` lifecycle with ``running_seconds=(1,
spread)``; a share ``--failure-rate`` fails). Three waiters poll the same job *at the same
time*, each through its own client whose transport counts every request and every byte sent
and received (request line, headers and bodies):

* ``wait``: ``client.task.wait(job)`` (task counts each poll; listings of what completed since
  the last one, ``$select`` of four properties, only when the counts changed);
* ``naive``: the hand-written loop the official SDKs leave you with: list every task each poll
  (all properties) until none is incomplete;
* ``naive+select``: the same loop, listing only ``id,state,executionInfo``.

Every waiter polls every ``--poll-interval`` seconds (a listing that takes longer delays its
next poll). All three must agree on the succeeded and failed counts. Figures are stated as
ratios to ``wait`` measured in the same run.

    .venv/bin/python benchmarks/wait_cost.py --tasks 100000 --spread 60
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import httpx

from batch_tasks_async import BatchClient, RetryPolicy, models
from batch_tasks_async.emulator import EmulatorConfig, EmulatorProcess

JOB = "wait-bench"


@attrs.define
class Meter:
    """Requests and bytes one client sent and received."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    @property
    def total_bytes(self) -> int:
        return self.bytes_sent + self.bytes_received


class CountingTransport(httpx.AsyncBaseTransport):
    """Forwards to a real transport and counts what crosses it (bodies read whole)."""

    def __init__(self, meter: Meter) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._meter = meter

    @staticmethod
    def _header_bytes(headers: httpx.Headers) -> int:
        return sum(len(k) + len(v) + 4 for k, v in headers.raw)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self._meter.requests += 1
        self._meter.bytes_sent += (
            (len(request.method) + len(request.url.raw_path) + 11)
            + self._header_bytes(request.headers)
            + len(body)
        )
        response = await self._inner.handle_async_request(request)
        content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        await response.aclose()
        self._meter.bytes_received += 17 + self._header_bytes(response.headers) + len(content)
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def client(url: str, meter: Meter) -> BatchClient:
    return BatchClient(url, transport=CountingTransport(meter), retry_policy=RetryPolicy())


async def wait_waiter(url: str, meter: Meter, interval: float) -> tuple[int, int, float]:
    started = time.monotonic()
    async with client(url, meter) as c:
        summary = await c.task.wait(JOB, poll_interval=interval)
    return summary.succeeded, summary.failed, time.monotonic() - started


async def naive_waiter(
    url: str, meter: Meter, interval: float, select: str | None
) -> tuple[int, int, float]:
    started = time.monotonic()
    async with client(url, meter) as c:
        while True:
            tasks = [t async for t in c.task.list(JOB, select=select)]
            if tasks and all(t.state is models.TaskState.COMPLETED for t in tasks):
                break
            await asyncio.sleep(interval)
    failed = sum(
        t.execution_info is not None
        and t.execution_info.result is models.TaskExecutionResult.FAILURE
        for t in tasks
    )
    return len(tasks) - failed, failed, time.monotonic() - started


async def submit(url: str, n: int) -> float:
    started = time.monotonic()
    async with BatchClient(url) as c:
        await c.task.add_collection(
            JOB,
            (models.TaskAddParameter(id=f"t{i:07d}", command_line="run") for i in range(n)),
            concurrency=16,
        )
    return time.monotonic() - started


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    config = EmulatorConfig(
        jobs=(JOB,),
        active_seconds=(0.0, 1.0),
        running_seconds=(1.0, args.spread),
        failure_rate=args.failure_rate,
    )
    with EmulatorProcess(config, cpu=1 if args.pin else None) as emulator:
        assert emulator.url is not None
        url = emulator.url
        added = await submit(url, args.tasks)
        print(f"added {args.tasks} tasks in {added:.1f}s; waiting...", file=sys.stderr)
        meters = {name: Meter() for name in ("wait", "naive", "naive+select")}
        results = await asyncio.gather(
            wait_waiter(url, meters["wait"], args.poll_interval),
            naive_waiter(url, meters["naive"], args.poll_interval, None),
            naive_waiter(url, meters["naive+select"], args.poll_interval, "id,state,executionInfo"),
        )
    outcomes = dict(zip(meters, results, strict=True))
    agreed = {(s, f) for s, f, _ in outcomes.values()}
    if len(agreed) != 1:
        raise SystemExit(f"the waiters disagree on the outcome: {outcomes}")
    return {"meters": meters, "outcomes": outcomes, "submit_seconds": added}


def report(args: argparse.Namespace, result: dict[str, Any]) -> str:
    meters: dict[str, Meter] = result["meters"]
    outcomes = result["outcomes"]
    base = meters["wait"]
    succeeded, failed, _ = outcomes["wait"]
    lines = [
        f"# Waiting on {args.tasks:,} tasks completing over ~{args.spread:g}s "
        f"(poll every {args.poll_interval:g}s; {succeeded:,} succeeded, {failed:,} failed)",
        "",
        "| waiter | requests | bytes | requests / wait's | bytes / wait's | wall time (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, meter in meters.items():
        requests = meter.requests / base.requests
        volume = meter.total_bytes / base.total_bytes
        lines.append(
            f"| {name} | {meter.requests:,} | {meter.total_bytes:,} | "
            f"{requests:.1f}x | {volume:.1f}x | {outcomes[name][2]:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds completions span")
    parser.add_argument("--poll-interval", type=float, default=2.0)
    parser.add_argument("--failure-rate", type=float, default=0.01)
    parser.add_argument("--pin", action="store_true", help="pin the emulator to CPU 1")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "wait_cost.md",
        help="where to write the table (the docs include it); '-' for nowhere",
    )
    args = parser.parse_args()
    text = report(args, asyncio.run(main_async(args)))
    print(text)
    if str(args.out) != "-":
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
