"""What the models cost per task: building and serializing request models, structuring replies.

Two source trees (this one and ``--base``, say ``main`` checked out in a temporary worktree) are
compared in the same run. Both packages are loaded into one process under different names, and
each round measures every case on both, in alternating order, so the machine's load hits both
alike. Times are CPU time of this process (``time.process_time``); figures are medians over
``--rounds``, stated as ratios (absolute µs drift 2x on shared machines).

Cases, µs per task:

* ``build``: a ``TaskAddParameter`` as a bulk caller makes it (id, command line, one environment
  setting, one resource file, constraints with a ``timedelta``); ``build minimal``: id and
  command line only.
* ``to_wire``, ``dumps``: the wire dict / JSON body of such a task (what the bulk engine sends);
  ``build+dumps`` is the two together, the per-task model cost of ``add_collection``.
* ``add results``: structuring add-collection results (100 successes per response).
* ``list (iterate)``: structuring ``--list-count`` listed tasks (the stdlib benchmark server's
  completed-task shape with distinct timestamps; pages of 1,000 already parsed by orjson) into
  ``CloudTask`` models, each dropped after use as ``async for`` over a listing does;
  ``list (keep all)`` keeps them all (cyclic GC then walks them repeatedly); ``+read`` also
  reads eight datetime/duration fields (and the nested objects holding them) of each kept task;
  ``to_dict(listed)`` serializes each kept task back.

Then, in a fresh process per tree: ``import ms``, ``prepare ms`` (``_serialization.prepare()``,
where the tree has it) and ``first dumps ms``, the first serialization after import (and after
``prepare``), which is what the first request of a new client pays. ::

    git worktree add /tmp/models-base fb5470a
    .venv/bin/python benchmarks/structure_models.py --base /tmp/models-base
    git worktree remove /tmp/models-base
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parents[1]
PAGE = 1_000
#: CPU time of this process: other load on a shared machine does not count (wall time would).
_clock = time.process_time


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


def _add_results(request: int) -> list[dict[str, Any]]:
    stamp = f"2025-06-01T12:00:{request % 60:02d}.{request:07d}Z"
    return [
        {
            "status": "success",
            "taskId": f"r{request}-t{i}",
            "eTag": "0x8DDA0F1E2B3C4D5",
            "lastModified": stamp,
            "location": f"https://acct.batch.test/jobs/j/tasks/r{request}-t{i}",
        }
        for i in range(100)
    ]


def _load(alias: str, tree: Path) -> tuple[ModuleType, ModuleType]:
    """Import ``tree``'s package under the name ``alias`` (its imports are relative)."""
    package = tree / "batch_tasks_async"
    spec = importlib.util.spec_from_file_location(
        alias, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no package at {package}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return importlib.import_module(f"{alias}.models"), importlib.import_module(
        f"{alias}._serialization"
    )


class _Data:
    """The inputs, built once and shared by both trees (structuring never changes them)."""

    def __init__(self, count: int, list_count: int) -> None:
        self.ids = [f"task-{i}" for i in range(count)]
        self.pages = [
            [_listed_task(i) for i in range(start, min(start + PAGE, list_count))]
            for start in range(0, list_count, PAGE)
        ]
        self.list_count = list_count
        self.responses = [_add_results(r) for r in range(max(1, count // 100))]


class _Cases:
    """Every measured case for one tree, each returning µs per task."""

    def __init__(self, models: Any, serialization: Any, data: _Data) -> None:
        self.m = models
        self.s = serialization
        self.ids = data.ids
        self.pages = data.pages
        self.list_count = data.list_count
        self.responses = data.responses
        self.limit = timedelta(hours=1)

    def build_one(self, task_id: str) -> Any:
        m = self.m
        return m.TaskAddParameter(
            id=task_id,
            command_line="/bin/sh -c 'echo hello'",
            environment_settings=[m.EnvironmentSetting(name="MODE", value="bench")],
            resource_files=[m.ResourceFile(http_url="https://st/x", file_path="x")],
            constraints=m.TaskConstraints(max_wall_clock_time=self.limit, max_task_retry_count=2),
        )

    def run(self) -> dict[str, float]:
        m, s, ids = self.m, self.s, self.ids
        s.dumps(self.build_one("warm-up"))
        s.parse_task_add_results(self.responses[0])
        s.from_wire(m.CloudTask, _listed_task(9_999_999))
        out: dict[str, float] = {}

        def timed(name: str, count: int, body: Callable[[], object]) -> None:
            gc.collect()
            start = _clock()
            body()
            out[name] = (_clock() - start) / count * 1e6

        build = self.build_one

        def build_all() -> None:
            for task_id in ids:
                build(task_id)

        def build_minimal() -> None:
            for task_id in ids:
                m.TaskAddParameter(id=task_id, command_line="/bin/true")

        timed("build", len(ids), build_all)
        timed("build minimal", len(ids), build_minimal)
        built = [build(i) for i in ids]
        to_wire, dumps = s.to_wire, s.dumps

        def each(function: Callable[[Any], object], items: list[Any]) -> Callable[[], None]:
            def run() -> None:  # results dropped at once, as a caller streaming them does
                for item in items:
                    function(item)

            return run

        timed("to_wire", len(ids), each(to_wire, built))
        timed("dumps", len(ids), each(dumps, built))
        built.clear()
        out["build+dumps"] = out["build"] + out["dumps"]
        timed(
            "add results", 100 * len(self.responses), each(s.parse_task_add_results, self.responses)
        )
        cloud_task, from_wire = m.CloudTask, s.from_wire

        def iterate() -> None:
            for page in self.pages:
                for item in page:
                    from_wire(cloud_task, item)

        timed("list (iterate)", self.list_count, iterate)
        kept: list[Any] = []
        timed(
            "list (keep all)",
            self.list_count,
            lambda: kept.extend(from_wire(cloud_task, i) for p in self.pages for i in p),
        )
        timed("  +read", self.list_count, each(_read, kept))
        out["  +read"] += out["list (keep all)"]
        timed("to_dict(listed)", self.list_count, each(to_wire, kept))
        return out


def _read(task: Any) -> int:
    info = task.execution_info
    constraints = task.constraints
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
    if None in values:
        raise SystemExit("a listed task lost a field")
    return len(values)


def _cold(tree: Path) -> dict[str, float]:
    """The import / prepare / first-dumps figures of ``tree``, from a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, __file__, "--cold"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cold_worker() -> None:
    tree = Path(os.environ["PYTHONPATH"]).resolve()
    spec = importlib.util.find_spec("batch_tasks_async")  # finds without importing
    origin = spec.origin if spec is not None else None
    if origin is None or not Path(origin).resolve().is_relative_to(tree):
        raise SystemExit(f"would import {origin}, not the tree {tree}")
    start = _clock()
    from batch_tasks_async import _serialization, models

    out = {"import ms": (_clock() - start) * 1e3, "prepare ms": 0.0}
    prepare = getattr(_serialization, "prepare", None)
    if prepare is not None:
        start = _clock()
        prepare()
        out["prepare ms"] = (_clock() - start) * 1e3
    task = models.TaskAddParameter(id="t", command_line="/bin/true")
    start = _clock()
    _serialization.dumps(task)
    out["first dumps ms"] = (_clock() - start) * 1e3
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="tree to compare with (required)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=50_000, help="tasks built per round")
    parser.add_argument("--list-count", type=int, default=100_000)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold:
        _cold_worker()
        return 0
    if args.base is None:
        parser.error("--base is required")
    trees = {"base": args.base.resolve(), "this": HERE}
    data = _Data(args.count, args.list_count)
    cases = {name: _Cases(*_load(f"_bench_{name}", tree), data) for name, tree in trees.items()}
    # The inputs stay alive all run; the cyclic GC must not walk them in every case's figures.
    gc.collect()
    gc.freeze()
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for round_ in range(args.rounds):
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name in order:
            for key, value in cases[name].run().items():
                samples[name].setdefault(key, []).append(value)
            for key, value in _cold(trees[name]).items():
                samples[name].setdefault(key, []).append(value)
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{'median of ' + str(args.rounds):<18}{'base':>10}{'this':>10}{'this/base':>11}")
    for key in samples["this"]:
        base = statistics.median(samples["base"][key])
        this = statistics.median(samples["this"][key])
        ratio = f"{this / base:>11.2f}" if base else f"{'-':>11}"
        print(f"{key:<18}{base:>10.3f}{this:>10.3f}{ratio}")
    print("(µs per task; 'ms' rows: milliseconds of CPU in a fresh process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
