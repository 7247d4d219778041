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

#: The targets stated next to the results (id, text): issue 14's, plus the fault target.
TARGETS: tuple[tuple[str, str], ...] = (
    ("cpu", "Client CPU per task, `add_collection` of models built by the caller, latency 0 "
     "(stdlib server): at most 7 µs at c=8 and c=32, 5 µs for `stream_add_collection`, and at "
     "most 0.2x the official asyncio SDK's in the same run"),
    ("speedup", "Throughput at latency 0 (stdlib server): at least 5x the official asyncio "
     "SDK at c=1, 8, 32 and 64, pair by pair"),
    ("ideal", "At 50 ms latency: at least 90% of the ideal throughput at c=8 and 85% at c=32 "
     "(the floor's figures on the same server are shown)"),
    ("own-client", "A user-supplied `httpx.AsyncClient`: within 1.3x of the default's CPU per "
     "task (latency 0, c=8 and c=32, pair by pair)"),
    ("listing", "Listing 100,000 tasks into models: at least 8x the official asyncio SDK's "
     "throughput (stdlib server, pair by pair)"),
    ("memory", "Peak RSS at 1,000,000 tasks: `stream_add_collection` at most 100 MB; "
     "`add_collection` keeping counts and failures only at most 150 MB"),
    ("faults", "Zero lost and zero duplicated tasks under faults, and the outcome reported "
     "correctly"),
)  # fmt: skip

#: The figures of the targets above.
CPU_LIMIT_US = 7.0
STREAM_CPU_LIMIT_US = 5.0
CPU_VS_BASELINE = 0.2
SPEEDUP = 5.0
IDEAL_SHARE = {8: 0.90, 32: 0.85}
OWN_CLIENT_CPU = 1.3
LISTING_SPEEDUP = 8.0
MEMORY_LIMIT_MB = {"this-stream": 100.0, "this-counts": 150.0}
MEMORY_COUNT = 1_000_000


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


def _bulk_cells(results: Mapping[str, Any], server: str) -> list[Mapping[str, Any]]:
    return [c for c in results.get("bulk", {}).get("cells", []) if c.get("server") == server]


def _cell(
    cells: Sequence[Mapping[str, Any]], sdk: str, latency: float, concurrency: int
) -> Mapping[str, Any] | None:
    for cell in cells:
        if (
            cell.get("sdk") == sdk
            and cell.get("latency_ms") == latency
            and cell.get("concurrency") == concurrency
        ):
            return cell
    return None


def _run_values(cell: Mapping[str, Any] | None, metric: str) -> list[Any]:
    return [r.get(metric) for r in (cell or {}).get("runs", [])]


def _judged_server(results: Mapping[str, Any]) -> tuple[str, list[Mapping[str, Any]]]:
    """The stdlib server's cells if it ran (the issue's figures are on it), else the emulator's."""
    stdlib = _bulk_cells(results, "stdlib")
    if stdlib:
        return "stdlib", stdlib
    return "emulator", _bulk_cells(results, "emulator")


def _target_cpu(cells: Sequence[Mapping[str, Any]], server: str, sdk: str) -> dict[str, Any]:
    checks: list[bool] = []
    figures: list[str] = []
    for conc in (8, 32):
        cell = _cell(cells, sdk, 0.0, conc)
        cpu = _median((cell or {}).get("cpu_us_per_task"))
        if cpu is not None:
            checks.append(cpu <= CPU_LIMIT_US)
            base = _cell(cells, BASELINE_SDK, 0.0, conc)
            ratios = paired_ratios(
                _run_values(cell, "cpu_us_per_task"), _run_values(base, "cpu_us_per_task")
            )
            text = f"c={conc}: {cpu:.1f} µs"
            if ratios:
                worst = max(ratios)
                checks.append(worst <= CPU_VS_BASELINE)
                text += f" ({worst:.2f}x official at worst)"
            figures.append(text)
        stream = _median((_cell(cells, f"{sdk}-stream", 0.0, conc) or {}).get("cpu_us_per_task"))
        if stream is not None:
            checks.append(stream <= STREAM_CPU_LIMIT_US)
            figures.append(f"stream c={conc}: {stream:.1f} µs")
    if not checks:
        return _verdict(None, "no bulk run at latency 0 and c=8 or 32")
    return _verdict(all(checks), f"{server}: " + "; ".join(figures))


def _target_speedup(cells: Sequence[Mapping[str, Any]], server: str, sdk: str) -> dict[str, Any]:
    lowest: list[tuple[int, float]] = []
    for conc in (1, 8, 32, 64):
        cell = _cell(cells, sdk, 0.0, conc)
        summary = (cell or {}).get("ratio_vs_baseline") or {}
        worst = finite(summary.get("min"))
        if worst is not None:
            lowest.append((conc, worst))
    if not lowest:
        return _verdict(None, "no paired run at latency 0")
    worst = min(v for _, v in lowest)
    figures = ", ".join(f"c={conc}: {v:.2f}x" for conc, v in lowest)
    return _verdict(worst >= SPEEDUP, f"{server}, lowest pair per cell: {figures}")


def _target_ideal(results: Mapping[str, Any], sdk: str) -> dict[str, Any]:
    for server in ("stdlib", "emulator"):
        cells = _bulk_cells(results, server)
        judged: list[tuple[int, float, bool]] = []
        floor: list[str] = []
        for conc, share in IDEAL_SHARE.items():
            cell = _cell(cells, sdk, 50.0, conc)
            rate = _median((cell or {}).get("tasks_per_s"))
            ideal = ideal_rate(conc, 50.0)
            if rate is None or ideal is None:
                continue
            judged.append((conc, rate / ideal, rate / ideal >= share))
            floor_rate = _median((_cell(cells, "floor", 50.0, conc) or {}).get("tasks_per_s"))
            if floor_rate is not None:
                floor.append(f"c={conc}: {floor_rate / ideal:.0%}")
        if judged:
            figures = ", ".join(f"c={conc}: {v:.0%}" for conc, v, _ in judged)
            note = f"; floor {', '.join(floor)}" if floor else ""
            return _verdict(all(ok for *_, ok in judged), f"{server}: {figures}{note}")
    return _verdict(None, "no run at 50 ms and c=8 or 32")


def _target_own_client(cells: Sequence[Mapping[str, Any]], server: str, sdk: str) -> dict[str, Any]:
    figures: list[str] = []
    worst_all: list[float] = []
    for conc in (8, 32):
        ratios = paired_ratios(
            _run_values(_cell(cells, f"{sdk}-httpx", 0.0, conc), "cpu_us_per_task"),
            _run_values(_cell(cells, sdk, 0.0, conc), "cpu_us_per_task"),
        )
        if ratios:
            worst_all.append(max(ratios))
            figures.append(f"c={conc}: {statistics.median(ratios):.2f}x (worst {max(ratios):.2f}x)")
    if not worst_all:
        return _verdict(None, "no run with a user-supplied httpx.AsyncClient")
    return _verdict(max(worst_all) <= OWN_CLIENT_CPU, f"{server}: " + "; ".join(figures))


def _target_listing(results: Mapping[str, Any], sdk: str) -> dict[str, Any]:
    cells = results.get("list", {}).get("cells", [])
    for server in ("stdlib", "emulator"):
        cell = next((c for c in cells if c.get("sdk") == sdk and c.get("server") == server), None)
        summary = (cell or {}).get("ratio_vs_baseline") or {}
        worst = finite(summary.get("min"))
        if worst is None:
            continue
        count = int((cell or {}).get("count") or 0)
        median = finite(summary.get("median")) or worst
        return _verdict(
            worst >= LISTING_SPEEDUP,
            f"{server}, {count:,} tasks: {median:.2f}x (lowest pair {worst:.2f}x)",
        )
    return _verdict(None, "no paired listing run")


def _target_memory(results: Mapping[str, Any], sdk: str) -> dict[str, Any]:
    cells = results.get("memory", {}).get("cells", [])
    checks: list[bool] = []
    figures: list[str] = []
    largest = max((int(c.get("count") or 0) for c in cells), default=0)
    for variant, limit in MEMORY_LIMIT_MB.items():
        name = variant.replace("this", sdk, 1)
        cell = next(
            (c for c in cells if c.get("sdk") == name and c.get("count") == MEMORY_COUNT), None
        )
        peak = _median((cell or {}).get("peak_rss_mib"))
        if peak is None:
            continue
        megabytes = peak * 2**20 / 1e6
        checks.append(megabytes <= limit)
        figures.append(f"{name}: {megabytes:.0f} MB (limit {limit:.0f})")
    if not checks:
        return _verdict(None, f"not measured at {MEMORY_COUNT:,} tasks (largest: {largest:,})")
    if len(checks) < len(MEMORY_LIMIT_MB):
        # Half a target is not a pass; a measured excess is still a failure.
        figures.append("the other row was not measured")
        return _verdict(False if not all(checks) else None, "; ".join(figures))
    return _verdict(all(checks), "; ".join(figures))


def _target_faults(results: Mapping[str, Any], sdk: str) -> dict[str, Any]:
    fault_cells = [c for c in results.get("faults", {}).get("cells", []) if c.get("sdk") == sdk]
    if not fault_cells:
        return _verdict(None, "no fault run")
    runs = [r for c in fault_cells for r in c.get("runs", [])]
    lost = sum(int(r.get("lost") or 0) for r in runs)
    duplicated = sum(int(r.get("duplicated") or 0) for r in runs)
    misreported = sum(int(r.get("misreported") or 0) for r in runs)
    incomplete = sum(1 for r in runs if r.get("lost") is None)
    ok = bool(runs) and lost == 0 and duplicated == 0 and misreported == 0 and not incomplete
    return _verdict(
        ok,
        f"{len(runs)} runs: {lost} lost, {duplicated} duplicated, "
        f"{misreported} misreported, {incomplete} not counted",
    )


def evaluate_targets(results: Mapping[str, Any], sdk: str = "this") -> dict[str, dict[str, Any]]:
    """Pass/fail (``None``: not measured in this run) of every target, with the figures used.

    ``results`` is the ``results.json`` document (whichever of its ``bulk``, ``memory``,
    ``list`` and ``faults`` sections ran). CPU, speedup and the user-supplied client are judged
    on the stdlib server's cells when it ran (the server of the issue's figures), else on the
    emulator's; ratios are paired per repetition and the worst pair decides.
    """
    server, cells = _judged_server(results)
    return {
        "cpu": _target_cpu(cells, server, sdk),
        "speedup": _target_speedup(cells, server, sdk),
        "ideal": _target_ideal(results, sdk),
        "own-client": _target_own_client(cells, server, sdk),
        "listing": _target_listing(results, sdk),
        "memory": _target_memory(results, sdk),
        "faults": _target_faults(results, sdk),
    }
