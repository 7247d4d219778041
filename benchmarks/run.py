"""``python -m benchmarks.run``: this SDK against the official ``azure-batch`` SDKs, one run.

Sections (``--only``; all by default):

* ``bulk``: tasks/s and client CPU per task of a bulk submission, at concurrency 1, 8, 32, 64
  and added latency 0, 50, 200 ms, against the emulator; and at latency 0 against the stdlib
  server too (to show the emulator is not the limit).
* ``faults``: the same submission under a seeded mix of faults on the emulator: completion
  time relative to a clean run, tasks lost and duplicated, and what each SDK reported.
* ``memory``: peak RSS for a large and a very large task count (from a generator for this SDK;
  the official SDKs take a list, so their users must build one), against the stdlib server.
* ``list``: tasks/s iterating every task of a job into models, pages of 1,000, on both servers.

Every measurement runs in a fresh interpreter (:mod:`benchmarks.worker`); within a repetition
the SDKs run back to back in an order rotated every repetition, and ratios to the official
asyncio SDK are computed pair by pair. ``--quick`` is a smoke run (< 3 minutes); the full run
is sized to stay under about 30 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_tasks_async.emulator import FAULT_PRESETS, FaultConfig

from . import report
from .legacy import ensure_legacy_python
from .servers import (
    ACCOUNT_KEY,
    ACCOUNT_NAME,
    BENCH_JOB,
    LIST_JOB,
    ServerProcess,
    emulator_server,
    pin,
    stdlib_server,
)
from .stats import BASELINE_SDK, cell_count, evaluate_targets, ideal_rate, paired_ratios, summarize
from .worker import RESULT_PREFIX, SDKS

__all__ = ["FAULT_MIX", "Settings", "main", "run_all"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
SECTIONS = ("bulk", "faults", "memory", "list")

#: The fault mix of the ``faults`` section: per-task server errors, throttling with
#: Retry-After, 500s and connections dropped before and after commit (probabilities per
#: request, per task for ``task_server_error``): ``FaultConfig.preset("benchmark")``.
FAULT_MIX: dict[str, float] = {
    name: value for name, value in FAULT_PRESETS["benchmark"].items() if name != "retry_after"
}


def fault_config(seed: int) -> FaultConfig:
    """The emulator's fault settings for :data:`FAULT_MIX` with ``seed`` (Retry-After 1 s)."""
    return FaultConfig.preset("benchmark", seed=seed)


@dataclass
class Settings:
    """What one run measures and how big it is."""

    quick: bool = False
    reps: int = 3
    only: tuple[str, ...] = SECTIONS
    sdks: tuple[str, ...] = SDKS
    concurrencies: tuple[int, ...] = (1, 8, 32, 64)
    latencies_ms: tuple[float, ...] = (0.0, 50.0, 200.0)
    #: Seconds of work one bulk run aims at, and the bounds of its task count.
    bulk_seconds: float = 1.5
    bulk_min: int = 1_000
    bulk_max: int = 30_000
    #: Tasks per second assumed when the client CPU is the limit (sizes latency-0 cells).
    cpu_bound_rate: float = 12_000.0
    fault_count: int = 10_000
    fault_concurrency: int = 32
    memory_counts: tuple[int, ...] = (100_000, 1_000_000)
    memory_concurrency: int = 32
    memory_reps: int = 1
    list_count: int = 100_000
    run_timeout: float = 300.0
    fault_timeout: float = 120.0
    pin_cpus: bool = True
    legacy: bool = True
    results_dir: Path = RESULTS
    readme: Path | None = ROOT / "README.md"
    log: Callable[[str], None] = field(default=print)

    @classmethod
    def quick_mode(cls, **overrides: Any) -> Settings:
        """Small counts and few repetitions, for a smoke run of every section."""
        values: dict[str, Any] = {
            "quick": True,
            "reps": 1,
            "concurrencies": (1, 8, 32, 64),
            "latencies_ms": (0.0, 50.0, 200.0),
            "bulk_seconds": 0.3,
            "bulk_min": 300,
            "bulk_max": 3_000,
            "fault_count": 5_000,
            "memory_counts": (10_000, 100_000),
            "list_count": 10_000,
            "run_timeout": 90.0,
            "fault_timeout": 60.0,
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class Context:
    """State shared by the sections of one run."""

    settings: Settings
    pythons: dict[str, Path | None]
    notes: dict[str, str]
    client_cpu: int | None
    server_cpu: int | None


def run_worker(ctx: Context, sdk: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; a timeout or a crash is a failed result."""
    full = {"sdk": sdk, "account_name": ACCOUNT_NAME, "account_key": ACCOUNT_KEY, **spec}
    python = ctx.pythons.get(sdk)
    if python is None:
        return {"ok": False, "raised": f"skipped: {ctx.notes.get(sdk, 'not available')}"}
    if sdk == "legacy-14":
        # -P: no script directory on sys.path; the legacy venv has only azure-batch 14.x.
        command = [str(python), "-P", str(HERE / "worker.py"), json.dumps(full)]
    else:
        command = [str(python), "-m", "benchmarks.worker", json.dumps(full)]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, PYTHONHASHSEED="0"),
    )
    pin(proc.pid, ctx.client_cpu)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {
            "ok": False,
            "timeout": True,
            "raised": f"timeout: no result after {timeout:.0f} s (killed)",
            "lifetime_s": time.monotonic() - started,
        }
    for line in reversed(out.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            result["lifetime_s"] = time.monotonic() - started
            return result
    tail = " | ".join(err.strip().splitlines()[-3:])
    return {"ok": False, "raised": f"worker exited {proc.returncode}: {tail}"[:400]}


def _rotated(items: Sequence[str], rep: int) -> list[str]:
    if not items:
        return []
    shift = rep % len(items)
    return list(items[shift:]) + list(items[:shift])


def _committed(server: ServerProcess, stats: dict[str, Any], job: str) -> int | None:
    key = "tasks_committed_per_job" if server.name == "emulator" else "tasks_added_per_job"
    per_job = stats.get(key) or {}
    for name, count in per_job.items():
        if str(name).lower() == job.lower():
            return int(count)
    return 0


def _measure_bulk_run(
    ctx: Context, server: ServerProcess, sdk: str, spec: dict[str, Any], timeout: float
) -> dict[str, Any]:
    server.reset()
    cpu0 = server.cpu_seconds()
    result = run_worker(ctx, sdk, {"url": server.url, **spec}, timeout)
    server_cpu = server.cpu_seconds() - cpu0
    stats = server.stats()
    count = int(spec["count"])
    committed = _committed(server, stats, BENCH_JOB)
    wall, cpu = result.get("wall_s"), result.get("cpu_s")
    succeeded = result.get("ok") is True and isinstance(wall, float) and wall > 0
    sent = count + (200 if spec.get("warmup") else 0)
    return {
        "ok": succeeded,
        "tasks_per_s": count / wall if succeeded and isinstance(wall, float) else None,
        "cpu_us_per_task": cpu / count * 1e6 if succeeded and isinstance(cpu, float) else None,
        "wall_s": wall,
        "cpu_s": cpu,
        "committed": committed,
        "lost": None if committed is None else max(0, count - committed),
        "server_cpu_us_per_task": server_cpu / sent * 1e6 if sent else None,
        "peak_rss_bytes": result.get("peak_rss_bytes"),
        "base_rss_bytes": result.get("base_rss_bytes"),
        "reported_added": result.get("reported_added"),
        "reported_failed": result.get("reported_failed"),
        "raised": result.get("raised"),
        "timeout": bool(result.get("timeout")),
    }


def _aggregate_cells(cells: list[dict[str, Any]], metrics: Sequence[str]) -> None:
    """Add medians/spreads of ``metrics`` and the paired ratio to the baseline, in place."""
    by_key: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for cell in cells:
        key = tuple(cell.get(k) for k in ("server", "latency_ms", "concurrency", "count"))
        by_key.setdefault(key, {})[cell["sdk"]] = cell
    for cell in cells:
        runs = cell["runs"]
        for metric in metrics:
            cell[metric] = summarize(r.get(metric) for r in runs)
        cell["failures"] = sum(1 for r in runs if not r.get("ok"))
        key = tuple(cell.get(k) for k in ("server", "latency_ms", "concurrency", "count"))
        baseline = by_key[key].get(BASELINE_SDK)
        if baseline is None or "tasks_per_s" not in metrics:
            continue
        ratios = paired_ratios(
            [r.get("tasks_per_s") for r in runs],
            [r.get("tasks_per_s") for r in baseline["runs"]],
        )
        cell["ratio_vs_baseline"] = summarize(ratios)


def section_bulk(ctx: Context) -> dict[str, Any]:
    """The bulk matrix on the emulator, plus latency 0 on the stdlib server."""
    s = ctx.settings
    cells: list[dict[str, Any]] = []
    plan: list[tuple[str, float]] = [("emulator", lat) for lat in s.latencies_ms]
    if 0.0 in s.latencies_ms:
        plan.append(("stdlib", 0.0))
    for server_name, latency in plan:
        make = emulator_server if server_name == "emulator" else stdlib_server
        with make(latency_ms=latency, cpu=ctx.server_cpu) as server:
            for conc in s.concurrencies:
                count = cell_count(
                    conc,
                    latency,
                    seconds=s.bulk_seconds,
                    cpu_bound_rate=s.cpu_bound_rate,
                    minimum=s.bulk_min,
                    maximum=s.bulk_max,
                )
                row: dict[str, dict[str, Any]] = {
                    sdk: {
                        "server": server_name,
                        "latency_ms": latency,
                        "concurrency": conc,
                        "count": count,
                        "sdk": sdk,
                        "ideal_tasks_per_s": ideal_rate(conc, latency),
                        "runs": [],
                    }
                    for sdk in s.sdks
                }
                for rep in range(s.reps):
                    for sdk in _rotated(s.sdks, rep):
                        spec = {
                            "scenario": "bulk",
                            "job_id": BENCH_JOB,
                            "count": count,
                            "concurrency": conc,
                            "id_prefix": f"task-r{rep}-",
                            "warmup": True,
                        }
                        run = _measure_bulk_run(ctx, server, sdk, spec, s.run_timeout)
                        row[sdk]["runs"].append(run)
                        _log_run(ctx, f"bulk {server_name} {latency:g}ms c={conc}", sdk, run)
                cells.extend(row.values())
    _aggregate_cells(cells, ("tasks_per_s", "cpu_us_per_task", "server_cpu_us_per_task", "wall_s"))
    return {"servers": {"emulator": "all latencies", "stdlib": "latency 0"}, "cells": cells}


def _log_run(ctx: Context, label: str, sdk: str, run: dict[str, Any]) -> None:
    rate = run.get("tasks_per_s")
    cpu = run.get("cpu_us_per_task")
    if run.get("ok") and isinstance(rate, float) and isinstance(cpu, float):
        ctx.settings.log(f"  {label:<28} {sdk:<14} {rate:>10,.0f} tasks/s {cpu:>7.1f} µs/task")
    else:
        ctx.settings.log(f"  {label:<28} {sdk:<14} FAILED: {run.get('raised')}")


def section_faults(ctx: Context) -> dict[str, Any]:
    """Each SDK's submission under the fault mix, against its own clean run."""
    s = ctx.settings
    cells: dict[str, dict[str, Any]] = {
        sdk: {
            "server": "emulator",
            "sdk": sdk,
            "count": s.fault_count,
            "concurrency": s.fault_concurrency,
            "runs": [],
        }
        for sdk in s.sdks
    }
    with emulator_server(cpu=ctx.server_cpu) as clean:
        for rep in range(s.reps):
            faults = fault_config(seed=1000 + rep)
            with emulator_server(faults=faults, cpu=ctx.server_cpu) as faulty:
                for sdk in _rotated(s.sdks, rep):
                    spec = {
                        "scenario": "bulk",
                        "job_id": BENCH_JOB,
                        "count": s.fault_count,
                        "concurrency": s.fault_concurrency,
                        "id_prefix": f"task-f{rep}-",
                        "warmup": False,
                    }
                    base = _measure_bulk_run(ctx, clean, sdk, spec, s.run_timeout)
                    run = _measure_fault_run(ctx, faulty, sdk, spec, s.fault_timeout)
                    run["clean_wall_s"] = base.get("wall_s") if base.get("ok") else None
                    clean_wall, wall = run["clean_wall_s"], run.get("wall_s")
                    run["slowdown"] = (
                        wall / clean_wall
                        if isinstance(wall, float) and isinstance(clean_wall, float) and clean_wall
                        else None
                    )
                    cells[sdk]["runs"].append(run)
                    ctx.settings.log(
                        f"  faults rep {rep} {sdk:<14} lost={run['lost']} "
                        f"dup={run['duplicated']} task_exists={run['task_exists_answers']} "
                        f"reported={run['reported_added']}/{run['reported_failed']} "
                        f"wall={_fmt(wall)}s clean={_fmt(clean_wall)}s {run['raised'] or ''}"
                    )
    result = list(cells.values())
    for cell in result:
        runs = cell["runs"]
        cell["slowdown"] = summarize(r.get("slowdown") for r in runs)
        cell["wall_s"] = summarize(r.get("wall_s") for r in runs)
        cell["lost"] = _total(r.get("lost") for r in runs)
        cell["duplicated"] = _total(r.get("duplicated") for r in runs)
        cell["task_exists_answers"] = _total(r.get("task_exists_answers") for r in runs)
        cell["misreported"] = _total(r.get("misreported") for r in runs)
        cell["failures"] = sum(1 for r in runs if not r.get("ok"))
        cell["timeouts"] = sum(1 for r in runs if r.get("timeout"))
    return {"server": "emulator", "mix": FAULT_MIX, "retry_after_s": 1, "cells": result}


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else "-"


def _total(values: Any) -> int | None:
    numbers = list(values)
    if any(v is None for v in numbers):
        return None
    return int(sum(numbers))


def _measure_fault_run(
    ctx: Context, server: ServerProcess, sdk: str, spec: dict[str, Any], timeout: float
) -> dict[str, Any]:
    server.reset()
    result = run_worker(ctx, sdk, {"url": server.url, **spec}, timeout)
    stats = server.stats(per_task="true")
    count = int(spec["count"])
    per_task: dict[str, int] = {}
    for job, tasks in (stats.get("task_commit_counts") or {}).items():
        if str(job).lower() == BENCH_JOB:
            per_task = {str(k): int(v) for k, v in tasks.items()}
    distinct = len(per_task)
    duplicated = sum(n - 1 for n in per_task.values() if n > 1)
    reported = result.get("reported_added")
    misreported = abs(int(reported) - distinct) if isinstance(reported, int) else None
    return {
        "ok": result.get("ok") is True,
        "wall_s": result.get("wall_s"),
        "cpu_s": result.get("cpu_s"),
        "committed": distinct,
        "lost": max(0, count - distinct),
        "duplicated": duplicated,
        "task_exists_answers": int(stats.get("duplicate_add_attempts") or 0),
        "faults_injected": stats.get("faults") or {},
        "reported_added": reported,
        "reported_failed": result.get("reported_failed"),
        "misreported": misreported,
        "raised": result.get("raised"),
        "timeout": bool(result.get("timeout")),
    }


def section_memory(ctx: Context) -> dict[str, Any]:
    """Peak RSS at each task count, against the stdlib server (it stores nothing)."""
    s = ctx.settings
    sdks = list(s.sdks)
    if "this" in sdks:
        sdks.insert(sdks.index("this") + 1, "this-stream")
    cells: list[dict[str, Any]] = []
    with stdlib_server(cpu=ctx.server_cpu) as server:
        for count in s.memory_counts:
            row: dict[str, dict[str, Any]] = {
                sdk: {
                    "server": "stdlib",
                    "sdk": sdk,
                    "count": count,
                    "concurrency": s.memory_concurrency,
                    "input": (
                        "generator" if sdk.startswith("this") else "list (the SDK needs one)"
                    ),
                    "runs": [],
                }
                for sdk in sdks
            }
            for rep in range(s.memory_reps):
                for sdk in _rotated(sdks, rep):
                    spec = {
                        "scenario": "memory",
                        "job_id": BENCH_JOB,
                        "count": count,
                        "concurrency": s.memory_concurrency,
                        "id_prefix": f"task-m{rep}-",
                        "warmup": False,
                    }
                    timeout = max(s.run_timeout, count / 2_000)
                    run = _measure_bulk_run(ctx, server, sdk, spec, timeout)
                    peak, base = run.get("peak_rss_bytes"), run.get("base_rss_bytes")
                    run["peak_rss_mib"] = peak / 2**20 if isinstance(peak, int) else None
                    run["base_rss_mib"] = base / 2**20 if isinstance(base, int) else None
                    row[sdk]["runs"].append(run)
                    ctx.settings.log(
                        f"  memory {count:>9,} {sdk:<14} peak {_fmt(run['peak_rss_mib'])} MiB "
                        f"{'' if run['ok'] else 'FAILED: ' + str(run.get('raised'))}"
                    )
            cells.extend(row.values())
    _aggregate_cells(cells, ("peak_rss_mib", "base_rss_mib", "tasks_per_s", "cpu_us_per_task"))
    return {"server": "stdlib", "cells": cells}


def section_list(ctx: Context) -> dict[str, Any]:
    """Iterating ``list_count`` tasks into models, on the stdlib server and on the emulator."""
    s = ctx.settings
    cells: list[dict[str, Any]] = []
    servers: list[tuple[str, Callable[[], ServerProcess]]] = [
        ("stdlib", lambda: stdlib_server(list_tasks=s.list_count, cpu=ctx.server_cpu)),
        ("emulator", lambda: emulator_server(cpu=ctx.server_cpu)),
    ]
    for name, make in servers:
        with make() as server:
            if name == "emulator" and not _populate(ctx, server, s.list_count):
                continue
            row: dict[str, dict[str, Any]] = {
                sdk: {
                    "server": name,
                    "sdk": sdk,
                    "count": s.list_count,
                    "concurrency": 1,
                    "latency_ms": 0.0,
                    "runs": [],
                }
                for sdk in s.sdks
            }
            for rep in range(s.reps):
                for sdk in _rotated(s.sdks, rep):
                    spec = {"scenario": "list", "job_id": LIST_JOB, "count": s.list_count}
                    cpu0 = server.cpu_seconds()
                    result = run_worker(ctx, sdk, {"url": server.url, **spec}, s.run_timeout)
                    server_cpu = server.cpu_seconds() - cpu0
                    wall, cpu = result.get("wall_s"), result.get("cpu_s")
                    ok = result.get("ok") is True and isinstance(wall, float) and wall > 0
                    run = {
                        "ok": ok,
                        "tasks_per_s": s.list_count / wall
                        if ok and isinstance(wall, float)
                        else None,
                        "cpu_us_per_task": (
                            cpu / s.list_count * 1e6 if ok and isinstance(cpu, float) else None
                        ),
                        "server_cpu_us_per_task": server_cpu / s.list_count * 1e6,
                        "wall_s": wall,
                        "seen": result.get("count"),
                        "raised": result.get("raised"),
                        "timeout": bool(result.get("timeout")),
                    }
                    row[sdk]["runs"].append(run)
                    _log_run(ctx, f"list {name}", sdk, run)
            cells.extend(row.values())
    _aggregate_cells(cells, ("tasks_per_s", "cpu_us_per_task", "server_cpu_us_per_task"))
    return {"page_size": 1000, "cells": cells}


def _populate(ctx: Context, server: ServerProcess, count: int) -> bool:
    """Fill the emulator's list job with ``count`` tasks (with this SDK, else the official)."""
    for sdk in ("this", "official-aio"):
        spec = {
            "url": server.url,
            "scenario": "bulk",
            "job_id": LIST_JOB,
            "count": count,
            "concurrency": 16,
            "id_prefix": "task-",
            "warmup": False,
        }
        result = run_worker(ctx, sdk, spec, ctx.settings.run_timeout * 2)
        stats = server.stats()
        if _committed(server, stats, LIST_JOB) == count:
            return True
        ctx.settings.log(f"  populating the list job with {sdk} failed: {result.get('raised')}")
        server.reset()
    ctx.notes["list-emulator"] = "the emulator's list job could not be filled"
    return False


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def _pythons(settings: Settings, notes: dict[str, str]) -> dict[str, Path | None]:
    pythons: dict[str, Path | None] = {}
    for sdk in (*settings.sdks, "this-stream"):
        if sdk != "legacy-14":
            pythons[sdk] = Path(sys.executable)
    if sdk_missing := [s for s in ("official-aio",) if s in settings.sdks and not _has_aiohttp()]:
        for sdk in sdk_missing:
            pythons[sdk] = None
            notes[sdk] = "aiohttp is not installed (azure.batch.aio needs it: pip install aiohttp)"
    if "legacy-14" in settings.sdks:
        if not settings.legacy:
            pythons["legacy-14"] = None
            notes["legacy-14"] = "skipped with --no-legacy"
        else:
            settings.log("preparing the azure-batch 14.x virtualenv ...")
            python, note = ensure_legacy_python(WORK / "venv-azure-batch-14")
            pythons["legacy-14"] = python
            notes["legacy-14"] = note
            settings.log(f"  {note}")
    return pythons


def _has_aiohttp() -> bool:
    import importlib.util

    return importlib.util.find_spec("aiohttp") is not None


def run_all(settings: Settings) -> dict[str, Any]:
    """Run the selected sections and write the results; return the results document."""
    started = time.time()
    notes: dict[str, str] = {}
    pythons = _pythons(settings, notes)
    cpus = os.cpu_count() or 1
    pin_ok = settings.pin_cpus and cpus >= 2 and hasattr(os, "sched_setaffinity")
    ctx = Context(
        settings=settings,
        pythons=pythons,
        notes=notes,
        client_cpu=0 if pin_ok else None,
        server_cpu=1 if pin_ok else None,
    )
    results: dict[str, Any] = {
        "meta": {
            "mode": "quick" if settings.quick else "full",
            "reps": settings.reps,
            "sections": list(settings.only),
            "sdks": list(settings.sdks),
            "baseline": BASELINE_SDK,
            "machine": _machine(),
            "pinned": ("client on CPU 0, server on CPU 1" if pin_ok else "not pinned"),
            "notes": notes,
            "versions": {},
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
        }
    }
    sections: dict[str, Callable[[Context], dict[str, Any]]] = {
        "bulk": section_bulk,
        "faults": section_faults,
        "memory": section_memory,
        "list": section_list,
    }
    for name in SECTIONS:
        if name not in settings.only:
            continue
        settings.log(f"== {name} ==")
        section_started = time.monotonic()
        results[name] = sections[name](ctx)
        results[name]["duration_s"] = round(time.monotonic() - section_started, 1)
    results["meta"]["versions"] = _versions(ctx)
    results["meta"]["duration_s"] = round(time.time() - started, 1)
    results["targets"] = evaluate_targets(results)
    paths = report.write_all(results, settings.results_dir, readme=settings.readme)
    for path in paths:
        settings.log(f"wrote {path}")
    return results


def _versions(ctx: Context) -> dict[str, str]:
    from importlib import metadata

    versions: dict[str, str] = {}
    for name in ("batch-tasks-async", "azure-batch", "azure-core", "aiohttp", "httpx"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    legacy_note = ctx.notes.get("legacy-14")
    if legacy_note:
        versions["legacy"] = legacy_note
    return versions


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark batch_tasks_async against the official azure-batch SDKs.",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, 1 rep (< 3 min)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable; default: all)",
    )
    parser.add_argument("--reps", type=int, help="repetitions per cell (default 3, quick 1)")
    parser.add_argument(
        "--sdk",
        action="append",
        choices=SDKS,
        help="only these SDKs (repeatable; the baseline official-aio is always included)",
    )
    parser.add_argument("--no-legacy", action="store_true", help="skip azure-batch 14.x")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client/server CPUs")
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite README.md's bench region"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {
        "only": tuple(args.only) if args.only else SECTIONS,
        "legacy": not args.no_legacy,
        "pin_cpus": not args.no_pin,
        "results_dir": args.results_dir,
        "readme": None if args.no_readme else ROOT / "README.md",
    }
    if args.sdk:
        chosen = set(args.sdk) | {BASELINE_SDK}
        overrides["sdks"] = tuple(sdk for sdk in SDKS if sdk in chosen)
    if args.reps is not None:
        if args.reps < 1:
            parser.error("--reps must be at least 1")
        overrides["reps"] = args.reps
    return Settings.quick_mode(**overrides) if args.quick else Settings(**overrides)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m benchmarks.run``."""
    settings = parse_args(argv)
    run_all(settings)


if __name__ == "__main__":
    main()
