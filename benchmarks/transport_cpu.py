"""Client CPU per request of the SDK over each HTTP transport, pairs alternating, one run.

``python -m benchmarks.transport_cpu [--reps 5] [--count 20000] [--concurrency 8 32]``

The same ``add_collection`` of ``count`` tasks (100 per request) against the stdlib server
(pinned to CPU 1, the client to CPU 0), once per transport in every repetition, each in a fresh
interpreter, the order rotated every repetition:

* ``anyio``: the SDK's transport (``batch_tasks_async._http_pool.AnyioTransport``);
* ``httpcore-tuned``: the transport the SDK had before it, httpx's transport over a tuned
  httpcore pool, loaded from git (``fb5470a:batch_tasks_async/_transport.py``);
* ``httpcore``: httpx's stock ``AsyncHTTPTransport`` (what a user's own client runs on).

Printed: CPU µs per task and per request, medians and ranges, and each transport's CPU
relative to ``httpcore-tuned`` computed pair by pair. ``--profile DIR`` also records a py-spy
profile (``--format raw``, folded stacks) of one extra run of each transport.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .servers import ACCOUNT_KEY, ACCOUNT_NAME, BENCH_JOB, pin, stdlib_server

__all__ = ["TRANSPORTS", "main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
TRANSPORTS = ("anyio", "httpcore-tuned", "httpcore")
#: The commit whose transport is the "before" of the comparison.
BEFORE_COMMIT = "fb5470a"
_PREFIX = "TRANSPORT-CPU "


def _old_transport_module() -> Any:
    """The pre-anyio ``_transport.py``, extracted from git into ``.work`` and imported."""
    WORK.mkdir(exist_ok=True)
    path = WORK / "transport_before.py"
    if not path.exists():
        source = subprocess.run(
            ["git", "show", f"{BEFORE_COMMIT}:batch_tasks_async/_transport.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        path.write_text(source)
    spec = importlib.util.spec_from_file_location("transport_before", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _transport(name: str, limit: int) -> Any:
    import httpx

    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    if name == "anyio":
        from batch_tasks_async._http_pool import AnyioTransport

        return AnyioTransport(limits=limits)
    if name == "httpcore-tuned":
        return _old_transport_module().make_transport(limits)
    return httpx.AsyncHTTPTransport(limits=limits)


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement: ``count`` tasks through ``spec["transport"]``; CPU and wall time."""
    import batch_tasks_async as bta
    from batch_tasks_async import models

    count, concurrency = int(spec["count"]), int(spec["concurrency"])

    def tasks(prefix: str, n: int) -> list[models.TaskAddParameter]:
        return [
            models.TaskAddParameter(id=f"{prefix}{i:07d}", command_line=f"echo {i}")
            for i in range(n)
        ]

    async def main() -> dict[str, Any]:
        credential = bta.SharedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY)
        transport = _transport(spec["transport"], concurrency)
        async with bta.BatchClient(spec["url"], credential, transport=transport) as client:
            await client.task.add_collection(
                BENCH_JOB, tasks("warm-", 2_000), concurrency=concurrency
            )
            batch = tasks("t-", count)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            result = await client.task.add_collection(BENCH_JOB, batch, concurrency=concurrency)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await transport.aclose()
        added = sum(1 for r in result.value or [] if r.status == models.TaskAddStatus.SUCCESS)
        return {"cpu_s": cpu, "wall_s": wall, "added": added, "count": count}

    return asyncio.run(main())


def _spawn(spec: dict[str, Any], *, profile: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.transport_cpu", "--worker", json.dumps(spec)]
    if profile is not None:
        spy = Path(sys.executable).with_name("py-spy")
        command = [str(spy), "record", "--format", "raw", "--rate", "500", "-o", str(profile),
                   "--", *command]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pin(proc.pid, 0)
    out, _ = proc.communicate(timeout=600)
    for line in reversed(out.splitlines()):
        if line.startswith(_PREFIX):
            result: dict[str, Any] = json.loads(line[len(_PREFIX) :])
            return result
    return {"cpu_s": None}


def _summary(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> None:
    """Run the comparison (or, with ``--worker``, one measurement) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transport_cpu")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--transport", action="append", choices=TRANSPORTS)
    parser.add_argument("--profile", type=Path, help="also write py-spy profiles here")
    args = parser.parse_args(argv)
    if args.worker:
        print(_PREFIX + json.dumps(run_worker(json.loads(args.worker))), flush=True)
        return
    chosen = tuple(args.transport or TRANSPORTS)
    if "httpcore-tuned" not in chosen:
        chosen = ("httpcore-tuned", *chosen)
    _old_transport_module()  # extracted once, before the timed runs
    with stdlib_server(cpu=1 if (os.cpu_count() or 1) >= 2 else None) as server:
        for concurrency in args.concurrency:
            cpu: dict[str, list[float]] = {name: [] for name in chosen}
            relative: dict[str, list[float]] = {name: [] for name in chosen}
            for rep in range(args.reps):
                order = chosen[rep % len(chosen) :] + chosen[: rep % len(chosen)]
                measured: dict[str, float] = {}
                for name in order:
                    server.reset()
                    spec = {"url": server.url, "transport": name, "count": args.count,
                            "concurrency": concurrency}  # fmt: skip
                    result = _spawn(spec)
                    if isinstance(result.get("cpu_s"), float) and result["added"] == args.count:
                        measured[name] = result["cpu_s"] / args.count * 1e6
                        cpu[name].append(measured[name])
                base = measured.get("httpcore-tuned")
                for name, value in measured.items():
                    if base:
                        relative[name].append(value / base)
            print(f"c={concurrency}, {args.count:,} tasks, {args.reps} reps (median, range)")
            print(f"  {'transport':<16} {'µs/task':>22} {'µs/request':>26} {'vs tuned':>22}")
            for name in chosen:
                per_request = [v * 100 for v in cpu[name]]
                print(f"  {name:<16} {_summary(cpu[name]):>22} {_summary(per_request):>26} "
                      f"{_summary(relative[name]):>22}")  # fmt: skip
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            for name in chosen:
                server.reset()
                out = args.profile / f"{name}-c{args.concurrency[0]}.txt"
                spec = {"url": server.url, "transport": name, "count": args.count,
                        "concurrency": args.concurrency[0]}  # fmt: skip
                _spawn(spec, profile=out)
                print(f"  profile: {out}")


if __name__ == "__main__":
    main()
