"""What the models cost per task: building and serializing request models, structuring lists.

Three measurements, each in a fresh worker process that imports the package from a given source
tree, so two trees (say ``main`` and a branch) are compared in the same run, pairs alternating:

* ``build``: construct a ``TaskAddParameter`` as a bulk caller does (id, command line, one
  environment setting, one resource file, constraints with a ``timedelta``), µs per task.
* ``dumps``: the same plus ``_serialization.dumps`` of it (what the bulk engine sends), and
  ``to_wire`` on its own, µs per task.
* ``list``: structure ``--list-count`` listed tasks (the stdlib benchmark server's completed-task
  shape, every timestamp distinct, pages of 1,000 already parsed by orjson) into ``CloudTask``
  models, µs per task: *iterate* drops each model after use (as ``async for`` over a listing
  does), *keep all* keeps the 100,000 models in a list (cyclic GC then walks them again and
  again), *+read* also reads every datetime/duration field of each kept model once, and
  ``to_dict(listed)`` serializes each kept model back.
* ``first``: in a cold process, the first ``dumps`` of a model after import (and, where the tree
  has it, after ``_serialization.prepare()``, timed on its own), in ms.

Figures are medians over ``--pairs`` alternating pairs; compare ratios, not absolute µs (they
drift 2x on shared machines). ::

    git worktree add /tmp/models-base fb5470a
    .venv/bin/python benchmarks/structure_models.py --base /tmp/models-base --pairs 5
    git worktree remove /tmp/models-base
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
PAGE = 1_000


def _listed_task(i: int, job: str = "bench-job", base: str = "https://acct.batch.test") -> Any:
    """One listed task as the stdlib benchmark server sends it, with distinct timestamps."""
    second, tick = divmod(i, 10_000_000)
    stamp = f"2025-06-01T12:{second // 60 % 60:02d}:{second % 60:02d}.{tick:07d}Z"
    return {
        "id": f"task-{i}",
        "url": f"{base}/jobs/{job}/tasks/task-{i}",
        "eTag": "0x8DDA0F1E2B3C4D5",
        "creationTime": stamp,
        "lastModified": stamp,
        "state": "completed",
        "stateTransitionTime": stamp,
        "previousState": "running",
        "previousStateTransitionTime": stamp,
        "commandLine": f'/bin/sh -c "echo task-{i}"',
        "constraints": {
            "maxWallClockTime": "P10675199DT2H48M5.4775807S",
            "retentionTime": "P7D",
            "maxTaskRetryCount": 0,
        },
        "executionInfo": {
            "startTime": stamp,
            "endTime": stamp,
            "exitCode": 0,
            "result": "success",
            "retryCount": 0,
            "requeueCount": 0,
        },
        "nodeInfo": {
            "affinityId": "TVM:tvm-1",
            "nodeUrl": f"{base}/pools/p/nodes/tvm-1",
            "poolId": "p",
            "nodeId": "tvm-1",
            "taskRootDirectory": f"workitems/{job}/job-1/task-{i}",
            "taskRootDirectoryUrl": f"{base}/pools/p/nodes/tvm-1/files/workitems/{job}/task-{i}",
        },
        "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
    }


def _per_task(start: float, count: int) -> float:
    return (time.perf_counter() - start) / count * 1e6


def _work_build(count: int) -> dict[str, float]:
    from batch_tasks_async import models
    from batch_tasks_async._serialization import dumps, to_wire

    limit = timedelta(hours=1)
    ids = [f"task-{i}" for i in range(count)]

    def build(task_id: str) -> Any:
        return models.TaskAddParameter(
            id=task_id,
            command_line="/bin/sh -c 'echo hello'",
            environment_settings=[models.EnvironmentSetting(name="MODE", value="bench")],
            resource_files=[models.ResourceFile(http_url="https://st/x", file_path="x")],
            constraints=models.TaskConstraints(max_wall_clock_time=limit, max_task_retry_count=2),
        )

    dumps(build("warm-up"))
    gc.collect()
    start = time.perf_counter()
    for task_id in ids:
        build(task_id)
    build_us = _per_task(start, count)
    built = [build(task_id) for task_id in ids]
    start = time.perf_counter()
    for task in built:
        to_wire(task)
    to_wire_us = _per_task(start, count)
    start = time.perf_counter()
    for task_id in ids:
        dumps(build(task_id))
    dumps_us = _per_task(start, count)
    return {"build": build_us, "to_wire": to_wire_us, "build+dumps": dumps_us}


def _work_list(count: int) -> dict[str, float]:
    from batch_tasks_async import models
    from batch_tasks_async._serialization import from_wire

    pages = [
        [_listed_task(i) for i in range(s, min(s + PAGE, count))] for s in range(0, count, PAGE)
    ]
    from_wire(models.CloudTask, _listed_task(-1 % 10_000_000))
    gc.collect()
    start = time.perf_counter()
    for page in pages:  # iterating a listing: each page's models are dropped after use
        for item in page:
            from_wire(models.CloudTask, item)
    stream_us = _per_task(start, count)
    gc.collect()
    start = time.perf_counter()
    listed = [from_wire(models.CloudTask, item) for page in pages for item in page]
    list_us = _per_task(start, count)
    start = time.perf_counter()
    seen = 0
    for task in listed:
        info = task.execution_info
        constraints = task.constraints
        if info is None or constraints is None:
            raise SystemExit("a listed task lost its executionInfo or constraints")
        values = (
            task.creation_time,
            task.last_modified,
            task.state_transition_time,
            task.previous_state_transition_time,
            info.start_time,
            info.end_time,
            constraints.max_wall_clock_time,
            constraints.retention_time,
        )
        seen += len(values)
    read_us = _per_task(start, count)
    if seen != 8 * count:
        raise SystemExit("not every field was read")
    del listed
    gc.collect()
    listed = [from_wire(models.CloudTask, item) for page in pages for item in page]
    start = time.perf_counter()
    for task in listed:
        to_wire_task = task.to_dict()
        del to_wire_task
    round_trip_us = _per_task(start, count)
    return {
        "list (iterate)": stream_us,
        "list (keep all)": list_us,
        "keep all+read": list_us + read_us,
        "to_dict(listed)": round_trip_us,
    }


def _work_first() -> dict[str, float]:
    start = time.perf_counter()
    from batch_tasks_async import _serialization, models

    import_ms = (time.perf_counter() - start) * 1e3
    prepare = getattr(_serialization, "prepare", None)
    prepare_ms = 0.0
    if prepare is not None:
        start = time.perf_counter()
        prepare()
        prepare_ms = (time.perf_counter() - start) * 1e3
    task = models.TaskAddParameter(id="t", command_line="/bin/true")
    start = time.perf_counter()
    _serialization.dumps(task)
    first_ms = (time.perf_counter() - start) * 1e3
    return {"import ms": import_ms, "prepare ms": prepare_ms, "first dumps ms": first_ms}


def _worker(kind: str, count: int) -> None:
    tree = Path(os.environ["PYTHONPATH"]).resolve()
    spec = importlib.util.find_spec("batch_tasks_async")  # finds without importing
    origin = spec.origin if spec is not None else None
    if origin is None or not Path(origin).resolve().is_relative_to(tree):
        raise SystemExit(f"would import {origin}, not the tree {tree}")
    if kind == "build":
        result = _work_build(count)
    elif kind == "list":
        result = _work_list(count)
    else:
        result = _work_first()
    print(json.dumps(result))


def _run_worker(tree: Path, kind: str, count: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--count", str(count)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="source tree to compare with (e.g. main)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--build-count", type=int, default=100_000)
    parser.add_argument("--list-count", type=int, default=100_000)
    parser.add_argument("--worker", choices=("build", "list", "first"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.count)
        return 0
    trees = {"this": HERE}
    if args.base is not None:
        trees = {"base": args.base.resolve(), "this": HERE}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    jobs = (("build", args.build_count), ("list", args.list_count), ("first", 0))
    for pair in range(args.pairs):
        order = list(trees.items())
        if pair % 2:
            order.reverse()
        for name, tree in order:
            for kind, count in jobs:
                for key, value in _run_worker(tree, kind, count).items():
                    samples[name].setdefault(key, []).append(value)
        print(f"pair {pair + 1}/{args.pairs} done", file=sys.stderr)
    keys = list(samples["this"])
    header = f"{'median':<18}" + "".join(f"{name:>12}" for name in trees)
    if "base" in trees:
        header += f"{'this/base':>12}"
    print(header)
    for key in keys:
        row = f"{key:<18}"
        medians = {name: statistics.median(samples[name].get(key, [0.0])) for name in trees}
        row += "".join(f"{medians[name]:>12.3f}" for name in trees)
        if "base" in trees:
            base = medians["base"]
            row += f"{medians['this'] / base:>12.2f}" if base else f"{'-':>12}"
        print(row)
    print("(build/dumps/list rows: µs per task; 'ms' rows: milliseconds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
