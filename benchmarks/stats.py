"""Aggregation of repeated measurements: medians with their spread, paired ratios, targets.

Everything here is a pure function of the raw results, so the tables and the pass/fail verdicts
can be recomputed from ``results.json`` and are tested without running anything.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "BASELINE_SDK",
    "TARGETS",
    "cell_count",
    "evaluate_targets",
    "finite",
    "ideal_rate",
    "paired_ratios",
    "summarize",
]

#: The SDK every ratio is computed against: the official asyncio SDK.
BASELINE_SDK = "official-aio"

#: The targets stated next to the results (id, text).
TARGETS: tuple[tuple[str, str], ...] = (
    ("cpu", "Client CPU per task under 10 µs (the official 15.x spends about 50 µs)"),
    ("speedup", "At least 4x the official asyncio SDK's throughput at equal concurrency when "
     "the client's CPU is the limit (latency 0)"),
    ("ideal", "At least 90% of the ideal throughput (concurrency x 100 / latency) at 50 ms "
     "latency, where latency rather than CPU is the limit"),
    ("memory", "Memory flat in the number of tasks (peak RSS of `stream_add_collection` at the "
     "largest count, 1,000,000 in a full run, within +20% of the peak at the smallest, "
     "100,000; `add_collection` also returns one result per task)"),
    ("faults", "Zero lost and zero duplicated tasks under faults, and the outcome reported "
     "correctly"),
)  # fmt: skip


def finite(value: Any) -> float | None:
    """``value`` as a float if it is a finite number, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def summarize(values: Iterable[Any]) -> dict[str, float | int | None]:
    """Median, minimum and maximum of the finite values, and how many there were."""
    numbers = [v for v in (finite(x) for x in values) if v is not None]
    if not numbers:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": statistics.median(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "n": len(numbers),
    }


def paired_ratios(numerators: Sequence[Any], denominators: Sequence[Any]) -> list[float]:
    """``numerators[i] / denominators[i]`` for every repetition where both are valid.

    Repetition ``i`` of two SDKs ran back to back in the same run, so pairing them cancels
    most of the machine's drift; a failed run (``None``) or a zero denominator drops the pair.
    """
    ratios: list[float] = []
    for num, den in zip(numerators, denominators, strict=False):
        a, b = finite(num), finite(den)
        if a is None or b is None or b == 0:
            continue
        ratios.append(a / b)
    return ratios


def ideal_rate(concurrency: int, latency_ms: float, tasks_per_request: int = 100) -> float | None:
    """Tasks per second a client reaches if only latency limits it (``None`` at latency 0)."""
    if latency_ms <= 0:
        return None
    return concurrency * tasks_per_request / (latency_ms / 1000.0)


def cell_count(
    concurrency: int,
    latency_ms: float,
    *,
    seconds: float,
    cpu_bound_rate: float,
    minimum: int,
    maximum: int,
) -> int:
    """How many tasks one run of a bulk cell submits: about ``seconds`` of work.

    The expected rate is the ideal rate at this latency, capped by ``cpu_bound_rate`` (what a
    client can do when the CPU is the limit); the count is rounded to whole requests of 100.
    """
    ideal = ideal_rate(concurrency, latency_ms)
    rate = cpu_bound_rate if ideal is None else min(ideal, cpu_bound_rate)
    count = int(rate * seconds) // 100 * 100
    return max(minimum, min(maximum, count))


def _median(summary: Mapping[str, Any] | None) -> float | None:
    if not summary:
        return None
    return finite(summary.get("median"))


def _verdict(ok: bool | None, detail: str) -> dict[str, Any]:
    return {"pass": ok, "detail": detail}


def evaluate_targets(results: Mapping[str, Any], sdk: str = "this") -> dict[str, dict[str, Any]]:
    """Pass/fail (``None``: not measured in this run) of every target, with the figures used.

    ``results`` is the ``results.json`` document (its ``bulk``, ``memory`` and ``faults``
    sections, whichever ran).
    """
    verdicts: dict[str, dict[str, Any]] = {}
    # Judged on the emulator's cells (the server every latency ran against).
    bulk_cells = [
        c
        for c in results.get("bulk", {}).get("cells", [])
        if c.get("sdk") == sdk and c.get("server", "emulator") == "emulator"
    ]
    zero_latency = [c for c in bulk_cells if c.get("latency_ms") == 0]

    cpu = [(c["concurrency"], _median(c.get("cpu_us_per_task"))) for c in zero_latency]
    cpu_known = [(conc, v) for conc, v in cpu if v is not None]
    if cpu_known:
        worst = max(v for _, v in cpu_known)
        figures = ", ".join(f"c={conc}: {v:.1f} µs" for conc, v in cpu_known)
        verdicts["cpu"] = _verdict(worst < 10.0, f"worst {worst:.1f} µs/task ({figures})")
    else:
        verdicts["cpu"] = _verdict(None, "no bulk run at latency 0")

    speedups = [(c["concurrency"], _median(c.get("ratio_vs_baseline"))) for c in zero_latency]
    speedups_known = [(conc, v) for conc, v in speedups if v is not None]
    if speedups_known:
        worst = min(v for _, v in speedups_known)
        figures = ", ".join(f"c={conc}: {v:.2f}x" for conc, v in speedups_known)
        verdicts["speedup"] = _verdict(worst >= 4.0, f"lowest {worst:.2f}x ({figures})")
    else:
        verdicts["speedup"] = _verdict(None, "no paired run at latency 0")

    cpu_bound_rate = {c["concurrency"]: _median(c.get("tasks_per_s")) for c in zero_latency}
    latency_cells = [c for c in bulk_cells if c.get("latency_ms") == 50]
    judged: list[tuple[int, float]] = []
    skipped: list[int] = []
    for cell in latency_cells:
        rate = _median(cell.get("tasks_per_s"))
        ideal = ideal_rate(cell["concurrency"], 50)
        limit = cpu_bound_rate.get(cell["concurrency"])
        if rate is None or ideal is None:
            continue
        if limit is not None and ideal > limit:
            skipped.append(cell["concurrency"])
            continue
        judged.append((cell["concurrency"], rate / ideal))
    if judged:
        worst = min(v for _, v in judged)
        figures = ", ".join(f"c={conc}: {v:.0%}" for conc, v in judged)
        note = f"; CPU-bound, not judged: c={', '.join(map(str, skipped))}" if skipped else ""
        verdicts["ideal"] = _verdict(worst >= 0.9, f"lowest {worst:.0%} ({figures}){note}")
    else:
        verdicts["ideal"] = _verdict(None, "no latency-bound run at 50 ms")

    memory_cells = results.get("memory", {}).get("cells", [])
    memory_sdk = (
        f"{sdk}-stream" if any(c.get("sdk") == f"{sdk}-stream" for c in memory_cells) else sdk
    )
    memory = {
        c["count"]: _median(c.get("peak_rss_mib"))
        for c in memory_cells
        if c.get("sdk") == memory_sdk
    }
    counts = sorted(n for n, v in memory.items() if v is not None)
    if len(counts) >= 2:
        small, large = memory[counts[0]], memory[counts[-1]]
        assert small is not None
        assert large is not None
        verdicts["memory"] = _verdict(
            large <= small * 1.2,
            f"{memory_sdk}: {small:.0f} MiB at {counts[0]:,} tasks, "
            f"{large:.0f} MiB at {counts[-1]:,}",
        )
    else:
        verdicts["memory"] = _verdict(None, "memory not measured at two task counts")

    fault_cells = [c for c in results.get("faults", {}).get("cells", []) if c.get("sdk") == sdk]
    if fault_cells:
        runs = [r for c in fault_cells for r in c.get("runs", [])]
        lost = sum(int(r.get("lost") or 0) for r in runs)
        duplicated = sum(int(r.get("duplicated") or 0) for r in runs)
        misreported = sum(int(r.get("misreported") or 0) for r in runs)
        incomplete = sum(1 for r in runs if r.get("lost") is None)
        ok = bool(runs) and lost == 0 and duplicated == 0 and misreported == 0 and not incomplete
        verdicts["faults"] = _verdict(
            ok,
            f"{len(runs)} runs: {lost} lost, {duplicated} duplicated, "
            f"{misreported} misreported, {incomplete} not counted",
        )
    else:
        verdicts["faults"] = _verdict(None, "no fault run")
    return verdicts
