"""Writing the results: ``results.json``, ``results.md``, PNG plots and the README's region.

Only the region of ``README.md`` between :data:`README_START` and :data:`README_END` is ever
rewritten; everything else in the README is left byte for byte as it was.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .stats import BASELINE_SDK, TARGETS

__all__ = [
    "README_END",
    "README_START",
    "SDK_LABELS",
    "headline_table",
    "render_markdown",
    "replace_readme_region",
    "write_all",
]

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"

#: How tables name the SDKs.
SDK_LABELS: dict[str, str] = {
    "this": "batch_tasks_async `add_collection`",
    "this-stream": "batch_tasks_async `stream_add_collection`",
    "this-counts": "batch_tasks_async `add_collection(return_results=False)`",
    "this-httpx": "batch_tasks_async on the caller's `httpx.AsyncClient`",
    "floor": "floor: raw asyncio client, precomputed bodies (reference)",
    "official-aio": "azure-batch 15.x aio `create_tasks`",
    "official-sync": "azure-batch 15.x sync `create_tasks` (threads)",
    "legacy-14": "azure-batch 14.x `add_collection(threads=)`",
}

#: How the listing table names the SDKs (their list calls).
LIST_LABELS: dict[str, str] = {
    "this": "batch_tasks_async `task.list`",
    "official-aio": "azure-batch 15.x aio `list_tasks`",
    "official-sync": "azure-batch 15.x sync `list_tasks`",
    "legacy-14": "azure-batch 14.x `task.list`",
}

_SDK_ORDER = (
    "this",
    "this-stream",
    "this-counts",
    "this-httpx",
    "official-aio",
    "official-sync",
    "legacy-14",
    "floor",
)


def _label(sdk: str) -> str:
    return SDK_LABELS.get(sdk, sdk)


def _num(value: Any, digits: int = 0, suffix: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def _spread(summary: Mapping[str, Any] | None, digits: int = 0, suffix: str = "") -> str:
    """``median (min-max)``, or just the median for one run, or ``-``."""
    if not summary or summary.get("median") is None:
        return "-"
    median = _num(summary["median"], digits, suffix)
    if summary.get("n", 0) <= 1:
        return median
    return f"{median} ({_num(summary['min'], digits)}-{_num(summary['max'], digits)})"


def _ratio(summary: Mapping[str, Any] | None) -> str:
    if not summary or summary.get("median") is None:
        return "-"
    median = f"{summary['median']:.2f}x"
    if summary.get("n", 0) <= 1:
        return median
    return f"{median} ({summary['min']:.2f}-{summary['max']:.2f})"


def _sorted_cells(cells: Iterable[Mapping[str, Any]], *keys: str) -> list[Mapping[str, Any]]:
    def key(cell: Mapping[str, Any]) -> tuple[Any, ...]:
        sdk = cell.get("sdk", "")
        order = _SDK_ORDER.index(sdk) if sdk in _SDK_ORDER else len(_SDK_ORDER)
        return (*(cell.get(k) or 0 for k in keys), order)

    return sorted(cells, key=key)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _failures(cell: Mapping[str, Any]) -> str:
    failed = int(cell.get("failures") or 0)
    if not failed:
        return ""
    reasons = {str(r.get("raised")) for r in cell.get("runs", []) if not r.get("ok")}
    reason = sorted(reasons)[0] if reasons else ""
    return f"{failed} failed: {reason}"[:140].replace("|", "/")


def headline_table(results: Mapping[str, Any]) -> list[str]:
    """The headline: each SDK at concurrency 32 (or the nearest measured), latency 0 and 50,
    on the stdlib server when it ran (where the targets are judged), else on the emulator."""
    cells = results.get("bulk", {}).get("cells", [])
    server = "stdlib" if any(c.get("server") == "stdlib" for c in cells) else "emulator"
    emulator = [c for c in cells if c.get("server") == server]
    if not emulator:
        return ["_No bulk results in this run._"]
    concurrencies = sorted({int(c["concurrency"]) for c in emulator})
    conc = min(concurrencies, key=lambda c: abs(c - 32))
    latencies = sorted({float(c["latency_ms"]) for c in emulator})
    picked = [lat for lat in (0.0, 50.0) if lat in latencies] or latencies[:1]
    header = ["SDK"]
    for lat in picked:
        header += [f"tasks/s @ {lat:g} ms", f"vs official aio @ {lat:g} ms"]
    header += ["client CPU µs/task @ 0 ms"]
    rows = []
    sdks = [s for s in _SDK_ORDER if any(c["sdk"] == s for c in emulator)]
    for sdk in sdks:
        row = [_label(sdk)]
        for lat in picked:
            cell = next(
                (
                    c
                    for c in emulator
                    if c["sdk"] == sdk and c["concurrency"] == conc and c["latency_ms"] == lat
                ),
                None,
            )
            row += [
                _num((cell or {}).get("tasks_per_s", {}).get("median")),
                _ratio((cell or {}).get("ratio_vs_baseline")),
            ]
        zero = next(
            (
                c
                for c in emulator
                if c["sdk"] == sdk and c["concurrency"] == conc and c["latency_ms"] == 0.0
            ),
            None,
        )
        row.append(_num((zero or {}).get("cpu_us_per_task", {}).get("median"), 1))
        rows.append(row)
    meta = results.get("meta", {})
    where = "stdlib server" if server == "stdlib" else "emulator"
    note = (
        f"Concurrency {conc}, {where} in a separate process, {meta.get('mode', '?')} run, "
        f"medians of {meta.get('reps', '?')} repetition(s); ratios paired per repetition."
    )
    return [*_table(header, rows), "", note]


def _targets_section(results: Mapping[str, Any]) -> list[str]:
    verdicts = results.get("targets", {})
    rows = []
    for key, text in TARGETS:
        verdict = verdicts.get(key, {})
        ok = verdict.get("pass")
        mark = "✅ pass" if ok is True else ("❌ fail" if ok is False else "- not measured")
        rows.append([text, mark, str(verdict.get("detail", "")).replace("|", "/")])
    return _table(["Target (this SDK)", "Result", "Measured"], rows)


def _bulk_section(results: Mapping[str, Any]) -> list[str]:
    bulk = results.get("bulk")
    if not bulk:
        return []
    out = ["## Bulk submission", ""]
    out.append(
        "Timed from building the first task model to the call's return (every SDK pays for "
        "its own models); client CPU is `time.process_time()` of the client process (all "
        "threads) divided by the tasks. Each run is a fresh interpreter after a 200-task "
        "warm-up. *ideal* is concurrency x 100 / latency. *server µs/task* is the server "
        "process's CPU per task: its capacity is about 1,000,000 / that tasks/s, so the "
        "server is not the limit while tasks/s stays well below it."
    )
    for server, title in (("emulator", "emulator"), ("stdlib", "stdlib server")):
        cells = [c for c in bulk.get("cells", []) if c.get("server") == server]
        if not cells:
            continue
        out += ["", f"### Server: {title}", ""]
        rows = []
        for cell in _sorted_cells(cells, "latency_ms", "concurrency"):
            ideal = cell.get("ideal_tasks_per_s")
            median = (cell.get("tasks_per_s") or {}).get("median")
            of_ideal = (
                f"{median / ideal:.0%}"
                if isinstance(ideal, float) and isinstance(median, float)
                else "-"
            )
            rows.append(
                [
                    _num(cell["latency_ms"]),
                    str(cell["concurrency"]),
                    _label(cell["sdk"]),
                    _num(cell["count"]),
                    _spread(cell.get("tasks_per_s")),
                    _spread(cell.get("cpu_us_per_task"), 1),
                    _ratio(cell.get("ratio_vs_baseline")),
                    _num(ideal) if ideal else "-",
                    of_ideal,
                    _spread(cell.get("server_cpu_us_per_task"), 1),
                    _failures(cell),
                ]
            )
        out += _table(
            [
                "latency ms",
                "conc.",
                "SDK",
                "tasks",
                "tasks/s",
                "client CPU µs/task",
                "vs official aio",
                "ideal tasks/s",
                "of ideal",
                "server µs/task",
                "failures",
            ],
            rows,
        )
    return out


def _faults_section(results: Mapping[str, Any]) -> list[str]:
    faults = results.get("faults")
    if not faults:
        return []
    mix = ", ".join(f"{k} {v:g}" for k, v in faults.get("mix", {}).items())
    out = ["", "## Under faults", ""]
    out.append(
        f"Server: emulator (seeded faults per request: {mix}; Retry-After "
        f"{faults.get('retry_after_s', '?')} s). Each SDK with its defaults, same seed per "
        "repetition; *slowdown* is the time relative to the same SDK's clean run. *lost*: tasks "
        "the SDK was asked to add that the server does not hold; *duplicated*: commits beyond "
        "one per task id; *TaskExists*: re-sent tasks the server refused as existing; "
        "*misreported*: |tasks the SDK reported added - tasks the server holds|. Totals over "
        "all repetitions."
    )
    out.append("")
    rows = []
    for cell in _sorted_cells(faults.get("cells", [])):
        reported = "; ".join(
            f"{r.get('reported_added')}/{r.get('reported_failed')}" for r in cell.get("runs", [])
        )
        raised = sorted({str(r["raised"]) for r in cell.get("runs", []) if r.get("raised")})
        rows.append(
            [
                _label(cell["sdk"]),
                _num(cell.get("count")),
                _spread(cell.get("wall_s"), 2, " s"),
                _ratio(cell.get("slowdown")),
                _num(cell.get("lost")),
                _num(cell.get("duplicated")),
                _num(cell.get("task_exists_answers")),
                reported,
                _num(cell.get("misreported")),
                str(cell.get("timeouts", 0)),
                (raised[0] if raised else "").replace("|", "/")[:160],
            ]
        )
    out += _table(
        [
            "SDK",
            "tasks",
            "time",
            "slowdown",
            "lost",
            "duplicated",
            "TaskExists",
            "reported added/failed",
            "misreported",
            "timeouts",
            "what it raised",
        ],
        rows,
    )
    return out


def _memory_section(results: Mapping[str, Any]) -> list[str]:
    memory = results.get("memory")
    if not memory:
        return []
    out = ["", "## Memory", ""]
    out.append(
        "Server: stdlib server. Peak RSS (`ru_maxrss`) of the client process submitting N "
        "tasks at concurrency 32. This SDK reads a generator; the official SDKs take a list, "
        "so the list is built first, as their users must. *baseline* is the RSS after "
        "imports and client creation."
    )
    out.append("")
    rows = []
    for cell in _sorted_cells(memory.get("cells", []), "count"):
        rows.append(
            [
                _num(cell["count"]),
                _label(cell["sdk"]),
                str(cell.get("input", "")),
                _spread(cell.get("peak_rss_mib"), 0, " MiB"),
                _spread(cell.get("base_rss_mib"), 0, " MiB"),
                _spread(cell.get("tasks_per_s")),
                _failures(cell),
            ]
        )
    out += _table(
        ["tasks", "SDK", "input", "peak RSS", "baseline RSS", "tasks/s", "failures"], rows
    )
    return out


def _list_section(results: Mapping[str, Any]) -> list[str]:
    listing = results.get("list")
    if not listing:
        return []
    out = ["", "## Listing", ""]
    out.append(
        "Iterating every task of a job into model objects, pages of "
        f"{listing.get('page_size', 1000):,}. The stdlib server serves synthetic completed "
        "tasks; the emulator serves tasks added to it beforehand."
    )
    out.append("")
    rows = []
    for cell in _sorted_cells(listing.get("cells", []), "server"):
        rows.append(
            [
                str(cell.get("server")),
                LIST_LABELS.get(cell["sdk"], cell["sdk"]),
                _num(cell.get("count")),
                _spread(cell.get("tasks_per_s")),
                _spread(cell.get("cpu_us_per_task"), 1),
                _ratio(cell.get("ratio_vs_baseline")),
                _spread(cell.get("server_cpu_us_per_task"), 1),
                _failures(cell),
            ]
        )
    out += _table(
        [
            "server",
            "SDK",
            "tasks",
            "tasks/s",
            "client CPU µs/task",
            "vs official aio",
            "server µs/task",
            "failures",
        ],
        rows,
    )
    return out


def render_markdown(results: Mapping[str, Any]) -> str:
    """``results.md``: the headline, the targets with pass/fail, then every table."""
    meta = results.get("meta", {})
    machine = meta.get("machine", {})
    versions = meta.get("versions", {})
    out = [
        "# Benchmarks: batch_tasks_async against the official azure-batch SDKs",
        "",
        "_Generated by `python -m benchmarks.run` (`nox -s bench`); do not edit by hand._",
        "",
        f"- Mode: **{meta.get('mode', '?')}**, {meta.get('reps', '?')} repetition(s) per cell, "
        f"run started {meta.get('started', '?')}, took {_num(meta.get('duration_s'))} s.",
        f"- Machine: {machine.get('cpus', '?')} CPUs ({machine.get('cpu_model', 'unknown')}), "
        f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}; "
        f"{meta.get('pinned', '')}.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "- Every measurement is a separate, clean interpreter; servers run in their own "
        "process on 127.0.0.1. Medians with (min-max) over repetitions; ratios to "
        f"{_label(BASELINE_SDK)} are computed pair by pair (same repetition) and then "
        "summarised.",
    ]
    for sdk, note in (meta.get("notes") or {}).items():
        out.append(f"- {sdk}: {note}")
    out += ["", "## Headline", "", *headline_table(results), ""]
    out += ["## Targets", "", *_targets_section(results), ""]
    out += _bulk_section(results)
    out += _faults_section(results)
    out += _memory_section(results)
    out += _list_section(results)
    plots = [p for p in ("throughput.png", "memory.png") if p in (meta.get("plots") or [])]
    if plots:
        out += ["", "## Plots", ""]
        out += [f"![{p}]({p})" for p in plots]
    return "\n".join(out) + "\n"


def replace_readme_region(text: str, region: str) -> str:
    """``text`` with the part between the bench markers replaced by ``region``.

    Without markers, a marked region is appended at the end. Nothing outside is changed.
    """
    block = f"{README_START}\n{region.strip()}\n{README_END}"
    start = text.find(README_START)
    end = text.find(README_END, start + len(README_START)) if start >= 0 else -1
    if start < 0 or end < 0:
        separator = (
            "" if text.endswith("\n\n") or not text else ("\n" if text.endswith("\n") else "\n\n")
        )
        return f"{text}{separator}{block}\n"
    return text[:start] + block + text[end + len(README_END) :]


def _readme_region(results: Mapping[str, Any], results_dir: Path, readme: Path) -> str:
    try:
        rel = results_dir.resolve().relative_to(readme.resolve().parent).as_posix()
    except ValueError:
        rel = results_dir.resolve().as_posix()
    lines = [
        "_Regenerated by `nox -s bench`; do not edit by hand._",
        "",
        *headline_table(results),
        "",
        *_targets_section(results),
        "",
        f"Full tables: [{rel}/results.md]({rel}/results.md); where the CPU goes and why a "
        "target is missed: [docs/benchmarks.md](docs/benchmarks.md).",
    ]
    if "throughput.png" in (results.get("meta", {}).get("plots") or []):
        lines += ["", f"![throughput against concurrency and latency]({rel}/throughput.png)"]
    return "\n".join(lines)


def write_plots(results: Mapping[str, Any], results_dir: Path) -> list[str]:
    """``throughput.png`` and ``memory.png`` (whichever have data); their file names."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written: list[str] = []
    cells = results.get("bulk", {}).get("cells", [])
    panels = sorted(
        {(str(c.get("server")), float(c["latency_ms"])) for c in cells},
        key=lambda p: (p[0] != "stdlib", p[1]),
    )
    if cells:
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
        for ax, (server, lat) in zip(axes[0], panels, strict=True):
            for sdk in _SDK_ORDER:
                points = sorted(
                    (c["concurrency"], (c.get("tasks_per_s") or {}).get("median"))
                    for c in cells
                    if c["sdk"] == sdk and c["latency_ms"] == lat and c.get("server") == server
                )
                xs = [x for x, y in points if isinstance(y, float)]
                ys = [y for _, y in points if isinstance(y, float)]
                if xs:
                    ax.plot(xs, ys, marker="o", label=_label(sdk).replace("`", ""))
            if lat > 0:
                concs = sorted({c["concurrency"] for c in cells})
                ax.plot(
                    concs,
                    [c * 100 / (lat / 1000) for c in concs],
                    linestyle=":",
                    color="grey",
                    label="ideal (conc. x 100 / latency)",
                )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("concurrency (requests in flight)")
            ax.set_ylabel("tasks/s")
            ax.set_title(f"{server}, added latency {lat:g} ms", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.suptitle("Bulk submission throughput")
        fig.tight_layout()
        fig.savefig(results_dir / "throughput.png", dpi=110)
        plt.close(fig)
        written.append("throughput.png")
    mem = results.get("memory", {}).get("cells", [])
    if mem:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        for sdk in _SDK_ORDER:
            points = sorted(
                (c["count"], (c.get("peak_rss_mib") or {}).get("median"))
                for c in mem
                if c["sdk"] == sdk
            )
            xs = [x for x, y in points if isinstance(y, float)]
            ys = [y for _, y in points if isinstance(y, float)]
            if xs:
                ax.plot(xs, ys, marker="o", label=_label(sdk).replace("`", ""))
        ax.set_xscale("log")
        ax.set_xlabel("tasks submitted")
        ax.set_ylabel("peak RSS (MiB)")
        ax.set_title("Client peak memory against task count (stdlib server)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(results_dir / "memory.png", dpi=110)
        plt.close(fig)
        written.append("memory.png")
    return written


def write_all(
    results: dict[str, Any], results_dir: Path, *, readme: Path | None = None
) -> list[Path]:
    """Write JSON, Markdown, plots and (if given) the README region; return what was written."""
    results_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(results, results_dir)
    results.setdefault("meta", {})["plots"] = plots
    paths = [results_dir / p for p in plots]
    json_path = results_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=1, sort_keys=True, default=str) + "\n")
    md_path = results_dir / "results.md"
    md_path.write_text(render_markdown(results))
    paths += [json_path, md_path]
    if readme is not None:
        text = readme.read_text() if readme.exists() else ""
        updated = replace_readme_region(text, _readme_region(results, results_dir, readme))
        if updated != text:
            readme.write_text(updated)
            paths.append(readme)
    return paths
