"""Engine-only CPU per task, and peak RSS of a long stream: the bulk engine with a fake sender.

No HTTP: the sender answers every request with results built once, up front, so what is
measured is the engine (reading, validating, serializing, de-duplicating, packing, matching the
answers, the result list) and nothing else. Each measurement runs in a fresh process; with
``--baseline TREE`` the same measurements run on another checkout's package too (for example a
worktree of ``main``), alternating, and the report gives each figure and the ratio, measured in
the same run (absolute times drift on a shared machine; ratios hold).

    .venv/bin/python benchmarks/engine_cpu.py --tasks 100000 --rounds 5
    git worktree add /tmp/main fb5470a
    .venv/bin/python benchmarks/engine_cpu.py --baseline /tmp/main
    .venv/bin/python benchmarks/engine_cpu.py --baseline /tmp/main --baseline /tmp/before
    .venv/bin/python benchmarks/engine_cpu.py --stream 1000000   # peak RSS of a 1M-task stream
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parents[1]


def _measure(kind: str, tasks: int, stream: bool) -> dict[str, float]:
    """Run one bulk add in this process (imports the package found on ``sys.path``)."""
    import anyio
    import orjson

    from batch_tasks_async import models
    from batch_tasks_async._bulk import BulkRetryPolicy, add_tasks, stream_tasks

    try:
        from batch_tasks_async._bulk import BulkOptions
    except ImportError:  # the engine before BulkOptions (main at fb5470a)
        options_object = None
    else:
        options_object = BulkOptions

    success = models.TaskAddStatus.SUCCESS
    # CPU mode: the answers are made up front, so the sender costs (almost) nothing. Stream
    # mode (memory): they are made per request, so nothing but the engine grows with the run.
    results = (
        []
        if stream
        else [models.TaskAddResult(status=success, task_id=f"task-{i}") for i in range(tasks)]
    )
    position = 0

    async def send(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
        nonlocal position
        if stream:
            return [
                models.TaskAddResult(status=success, task_id=item["id"])
                for item in orjson.loads(body)["value"]
            ]
        count = body.count(b'"id":')
        answer = results[position : position + count]
        position += count
        return answer

    def generate() -> Iterator[Any]:
        for i in range(tasks):
            if kind == "model":
                yield models.TaskAddParameter(id=f"task-{i}", command_line="echo hi")
            else:
                yield {"id": f"task-{i}", "commandLine": "echo hi"}

    keywords: dict[str, Any] = {"concurrency": 16, "retry_policy": BulkRetryPolicy.no_backoff()}

    async def run() -> int:
        if stream:
            count = 0
            if options_object is not None:
                handle = stream_tasks(send, generate(), options_object(**keywords))
            else:
                handle = stream_tasks(send, generate(), **keywords)
            async with handle as results_stream:
                async for result in results_stream:
                    count += result.status == success
            return count
        items = list(generate())
        if options_object is not None:
            outcome = await add_tasks(send, items, options_object(**keywords))
        else:
            outcome = await add_tasks(send, items, **keywords)
        return sum(r.status == success for r in outcome.value or [])

    start = time.process_time()
    done = anyio.run(run)
    cpu = time.process_time() - start
    if done != tasks:
        raise SystemExit(f"expected {tasks} successes, got {done}")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"us_per_task": cpu / tasks * 1e6, "peak_rss_mb": peak_kb / 1024}


def _child(tree: Path, kind: str, tasks: int, stream: bool) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--tasks", str(tasks)]
        + (["--child-stream"] if stream else []),
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        help="another checkout to measure alongside (repeatable; the first is the ratio's base)",
    )
    parser.add_argument("--stream", type=int, metavar="N", help="peak RSS streaming N tasks")
    parser.add_argument("--child", choices=["dict", "model"], help=argparse.SUPPRESS)
    parser.add_argument("--child-stream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.tasks, args.child_stream)))
        return
    trees = {"this": _HERE}
    for index, tree in enumerate(args.baseline):
        trees["baseline" if index == 0 else f"baseline{index + 1}"] = tree.resolve()
    if args.stream:
        for name, tree in trees.items():
            figures = _child(tree, "dict", args.stream, True)
            print(
                f"{name:8} stream {args.stream:,} dict tasks: "
                f"{figures['us_per_task']:.2f} us/task, peak RSS {figures['peak_rss_mb']:.1f} MB"
            )
        return
    for kind in ("dict", "model"):
        samples: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():  # alternate, so drift hits both alike
                samples[name].append(_child(tree, kind, args.tasks, False)["us_per_task"])
        medians = {name: statistics.median(values) for name, values in samples.items()}
        line = f"{kind:5} input, add_collection of {args.tasks:,}: " + ", ".join(
            f"{name} {value:.2f} us/task" for name, value in medians.items()
        )
        if "baseline" in medians:
            line += " (ratio to baseline: " + ", ".join(
                f"{name} {value / medians['baseline']:.2f}"
                for name, value in medians.items()
                if name != "baseline"
            )
            line += ")"
        print(line)


if __name__ == "__main__":
    main()
