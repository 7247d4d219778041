"""Smoke tests of the benchmark harness's pieces (no timing assertions)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import batch_tasks_async as bta
from batch_tasks_async import models
from benchmarks import report, run, stats, worker
from benchmarks.stdlib_server import StdlibBatchServer, StdlibServerThread

ACCOUNT = "benchaccount"
KEY = "YmVuY2htYXJrLWtleS1ub3QtYS1zZWNyZXQtMDEyMzQ="


@pytest.fixture
def stdlib_url() -> Iterator[str]:
    """A stdlib server on a free loopback port, with 2,500 tasks to list."""
    with StdlibServerThread(StdlibBatchServer(list_tasks=2_500)) as url:
        yield url


# -- the stdlib server ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stdlib_server_answers_this_sdks_add_collection(stdlib_url: str) -> None:
    tasks = (models.TaskAddParameter(id=f"t-{i:04d}", command_line="/bin/true") for i in range(250))
    async with bta.BatchClient(stdlib_url, credential=bta.SharedKeyCredential(ACCOUNT, KEY)) as c:
        result = await c.task.add_collection("job-a", tasks, concurrency=4)
    assert result.value is not None
    assert len(result.value) == 250
    assert {r.status for r in result.value} == {models.TaskAddStatus.SUCCESS}
    assert [r.task_id for r in result.value] == [f"t-{i:04d}" for i in range(250)]
    async with httpx.AsyncClient() as http:
        counters = (await http.get(f"{stdlib_url}/_stats")).json()
    assert counters["tasks_added_per_job"] == {"job-a": 250}
    assert counters["requests"]["task_add_collection"] == 3


def test_stdlib_server_answers_the_official_sdks_create_tasks(stdlib_url: str) -> None:
    from azure.batch import BatchClient
    from azure.batch import models as official
    from azure.core.credentials import AzureNamedKeyCredential

    tasks = [
        official.BatchTaskCreateOptions(id=f"o-{i}", command_line="/bin/true") for i in range(150)
    ]
    with BatchClient(stdlib_url, credential=AzureNamedKeyCredential(ACCOUNT, KEY)) as client:
        result = client.create_tasks("job-b", tasks, max_concurrency=2)
    assert result.result_values is not None
    assert sorted(r.task_id for r in result.result_values) == sorted(t.id for t in tasks)
    assert all(str(r.status).lower() == "success" for r in result.result_values)


@pytest.mark.anyio
async def test_stdlib_server_lists_pages_of_models(stdlib_url: str) -> None:
    async with bta.BatchClient(stdlib_url, credential=bta.SharedKeyCredential(ACCOUNT, KEY)) as c:
        pages = [page async for page in c.task.list("job-c", max_results=1000).pages()]
    assert [len(p.items) for p in pages] == [1000, 1000, 500]
    items = [task for page in pages for task in page.items]
    assert items[0].id == "task-0000000"
    assert items[-1].id == "task-0002499"
    assert items[0].state == models.TaskState.COMPLETED
    assert items[0].execution_info is not None
    assert items[0].execution_info.exit_code == 0


def test_stdlib_server_refuses_unknown_paths_and_bad_bodies(stdlib_url: str) -> None:
    with httpx.Client(base_url=stdlib_url) as http:
        assert http.get("/pools").status_code == 404
        bad = http.post("/jobs/j/addtaskcollection", content=b"{not json")
        assert bad.status_code == 400
        assert bad.json()["code"] == "InvalidRequestBody"
        assert http.post("/_reset").status_code == 204
        assert http.get("/_stats").json()["tasks_added"] == 0


# -- aggregation -------------------------------------------------------------------------------


def test_summarize_takes_median_and_spread_of_finite_values() -> None:
    summary = stats.summarize([3.0, None, 1.0, float("nan"), 2.0, 10])
    assert summary == {"median": 2.5, "min": 1.0, "max": 10.0, "n": 4}
    assert stats.summarize([]) == {"median": None, "min": None, "max": None, "n": 0}


def test_paired_ratios_pair_repetitions_and_drop_failed_pairs() -> None:
    ratios = stats.paired_ratios([10.0, None, 30.0, 8.0], [5.0, 4.0, 10.0, 0.0])
    assert ratios == [2.0, 3.0]


def test_ideal_rate_and_cell_count() -> None:
    assert stats.ideal_rate(8, 50) == 16_000
    assert stats.ideal_rate(1, 0) is None
    # latency 0: sized by the CPU-bound rate; latency: by the ideal; clamped and rounded.
    assert stats.cell_count(
        8, 0, seconds=2, cpu_bound_rate=12_000, minimum=1_000, maximum=30_000
    ) == (24_000)
    assert stats.cell_count(
        1, 200, seconds=2, cpu_bound_rate=12_000, minimum=1_000, maximum=30_000
    ) == (1_000)
    assert (
        stats.cell_count(64, 50, seconds=2, cpu_bound_rate=12_000, minimum=100, maximum=30_000)
        == 24_000
    )
    assert (
        stats.cell_count(8, 200, seconds=1.234, cpu_bound_rate=1e9, minimum=100, maximum=10**6)
        == 4_900
    )


def _run(rate: float | None, cpu: float | None = None) -> dict[str, Any]:
    return {"ok": rate is not None, "tasks_per_s": rate, "cpu_us_per_task": cpu}


def test_aggregate_cells_computes_paired_ratio_to_the_official_asyncio_sdk() -> None:
    base: dict[str, Any] = {"server": "emulator", "latency_ms": 0.0, "concurrency": 8}
    base["count"] = 1000
    cells: list[dict[str, Any]] = [
        {**base, "sdk": "this", "runs": [_run(400.0, 5), _run(300.0, 6), _run(None)]},
        {**base, "sdk": "official-aio", "runs": [_run(100.0, 60), _run(50.0, 70), _run(90.0)]},
    ]
    run._aggregate_cells(cells, ("tasks_per_s", "cpu_us_per_task"))
    this, official = cells
    assert this["ratio_vs_baseline"] == {"median": 5.0, "min": 4.0, "max": 6.0, "n": 2}
    assert official["ratio_vs_baseline"]["median"] == 1.0
    assert this["tasks_per_s"]["median"] == 350.0
    assert this["failures"] == 1


def _results(**overrides: Any) -> dict[str, Any]:
    def cell(
        sdk: str,
        lat: float,
        conc: int,
        rates: list[float],
        cpus: list[float],
        ratios: list[float],
        server: str = "stdlib",
    ) -> Any:
        return {
            "server": server,
            "sdk": sdk,
            "latency_ms": lat,
            "concurrency": conc,
            "count": 1000,
            "ideal_tasks_per_s": stats.ideal_rate(conc, lat),
            "tasks_per_s": stats.summarize(rates),
            "cpu_us_per_task": stats.summarize(cpus),
            "ratio_vs_baseline": stats.summarize(ratios),
            "runs": [_run(r, c) for r, c in zip(rates, cpus, strict=True)],
            "failures": 0,
        }

    bulk = []
    for conc in (1, 8, 32, 64):
        bulk += [
            cell("this", 0.0, conc, [90_000.0, 95_000.0], [6.5, 6.0], [6.0, 5.5]),
            cell("this-stream", 0.0, conc, [99_000.0, 99_000.0], [4.5, 4.8], [6.5, 6.0]),
            cell("this-httpx", 0.0, conc, [80_000.0, 80_000.0], [7.8, 7.5], [5.2, 5.0]),
            cell("official-aio", 0.0, conc, [15_000.0, 17_000.0], [40.0, 41.0], [1.0, 1.0]),
            cell("floor", 0.0, conc, [400_000.0, 400_000.0], [0.5, 0.6], [26.0, 24.0]),
        ]
    bulk += [
        cell("this", 50.0, 8, [14_800.0], [9.0], [1.5]),
        cell("this", 50.0, 32, [56_000.0], [9.0], [2.5]),
        cell("floor", 50.0, 8, [14_900.0], [0.5], [1.5]),
        cell("this", 50.0, 8, [10_000.0], [9.0], [1.2], server="emulator"),
    ]
    listing = [
        {"sdk": "this", "server": "stdlib", "count": 100_000,
         "ratio_vs_baseline": stats.summarize([9.0, 8.5])},
        {"sdk": "official-aio", "server": "stdlib", "count": 100_000,
         "ratio_vs_baseline": stats.summarize([1.0, 1.0])},
    ]  # fmt: skip
    results: dict[str, Any] = {
        "meta": {"mode": "quick", "reps": 1, "notes": {"legacy-14": "skipped: test"}},
        "bulk": {"cells": bulk},
        "list": {"cells": listing},
        "memory": {
            "cells": [
                {"sdk": "this-stream", "count": 100_000, "peak_rss_mib": stats.summarize([80])},
                {"sdk": "this-stream", "count": 1_000_000, "peak_rss_mib": stats.summarize([85])},
                {"sdk": "this-counts", "count": 1_000_000, "peak_rss_mib": stats.summarize([120])},
                {"sdk": "official-aio", "count": 100_000, "peak_rss_mib": stats.summarize([200])},
            ]
        },
        "faults": {
            "cells": [
                {
                    "sdk": "this",
                    "runs": [{"lost": 0, "duplicated": 0, "misreported": 0, "ok": True}],
                },
                {
                    "sdk": "official-aio",
                    "runs": [{"lost": 40, "duplicated": 0, "misreported": 40, "ok": False}],
                },
            ]
        },
    }
    results.update(overrides)
    return results


def test_evaluate_targets_passes_and_fails_from_the_data() -> None:
    verdicts = stats.evaluate_targets(_results())
    assert {key for key, _ in stats.TARGETS} == set(verdicts)
    for key, verdict in verdicts.items():
        assert verdict["pass"] is True, (key, verdict)
    # Judged on the stdlib server, where the floor's share of ideal is shown next to this SDK's.
    assert verdicts["ideal"]["detail"] == "stdlib: c=8: 92%, c=32: 88%; floor c=8: 93%"
    assert "c=8: 1.23x (worst 1.25x)" in verdicts["own-client"]["detail"]

    worse = _results()
    worse["faults"]["cells"][0]["runs"].append({"lost": 1, "duplicated": 0, "misreported": 0})
    cpu_cell = next(
        c for c in worse["bulk"]["cells"] if c["sdk"] == "this" and c["concurrency"] == 8
    )
    cpu_cell["cpu_us_per_task"] = stats.summarize([7.5])
    speed_cell = next(c for c in worse["bulk"]["cells"] if c["sdk"] == "this")
    speed_cell["ratio_vs_baseline"] = stats.summarize([5.5, 4.9])  # one pair below 5x
    worse["memory"]["cells"][2]["peak_rss_mib"] = stats.summarize([150])  # 157 MB
    verdicts = stats.evaluate_targets(worse)
    assert verdicts["faults"]["pass"] is False
    assert verdicts["cpu"]["pass"] is False
    assert verdicts["speedup"]["pass"] is False
    assert verdicts["memory"]["pass"] is False
    assert "this-counts: 157 MB (limit 150)" in verdicts["memory"]["detail"]

    missing = stats.evaluate_targets({})
    assert all(verdict["pass"] is None for verdict in missing.values())
    no_large = _results(memory={"cells": []})
    assert stats.evaluate_targets(no_large)["memory"]["pass"] is None
    half = _results()
    del half["memory"]["cells"][2]  # no counts-only row: not a pass
    assert stats.evaluate_targets(half)["memory"]["pass"] is None


# -- the report writer ---------------------------------------------------------------------------


def test_replace_readme_region_changes_only_the_marked_region() -> None:
    text = f"# Title\n\nintro\n\n{report.README_START}\nold\n{report.README_END}\n\n## After\nx\n"
    updated = report.replace_readme_region(text, "new table")
    region = f"{report.README_START}\nnew table\n{report.README_END}"
    assert updated == f"# Title\n\nintro\n\n{region}\n\n## After\nx\n"
    assert report.replace_readme_region(updated, "new table") == updated
    appended = report.replace_readme_region("# Only\n", "t")
    assert appended == f"# Only\n\n{report.README_START}\nt\n{report.README_END}\n"


def test_write_all_writes_json_markdown_plots_and_readme_region(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Project\n\n{report.README_START}\n{report.README_END}\n\nkept\n")
    results = _results()
    results["targets"] = stats.evaluate_targets(results)
    paths = report.write_all(results, tmp_path / "results", readme=readme)
    names = {p.name for p in paths}
    assert {"results.json", "results.md", "throughput.png", "memory.png", "README.md"} <= names
    assert json.loads((tmp_path / "results" / "results.json").read_text())["meta"]["mode"]
    markdown = (tmp_path / "results" / "results.md").read_text()
    assert "## Targets" in markdown
    assert "✅ pass" in markdown
    row = "| 0 | 8 | batch_tasks_async `add_collection` | 1,000 | 92,500 (90,000-95,000) | 6.2"
    assert row in markdown
    assert "| 0 | 8 | floor: raw asyncio client, precomputed bodies (reference) |" in markdown
    assert "legacy-14: skipped: test" in markdown
    text = readme.read_text()
    assert text.startswith("# Project\n\n<!-- bench:start -->\n")
    assert text.endswith("<!-- bench:end -->\n\nkept\n")
    assert "results/throughput.png" in text
    assert "Target (this SDK)" in text  # the targets table, pass/fail per target


# -- the worker and the command line -------------------------------------------------------------


def test_worker_reports_an_unknown_sdk_as_a_failed_result() -> None:
    result = worker.run_spec({"sdk": "nope", "scenario": "bulk"})
    assert result["ok"] is False
    assert "unknown sdk" in result["raised"]
    assert worker.task_id("task-", 42) == "task-0000042"


def test_parse_args_quick_only_and_reps() -> None:
    settings = run.parse_args(["--quick", "--only", "bulk", "--reps", "2", "--no-readme"])
    assert settings.quick
    assert settings.only == ("bulk",)
    assert settings.reps == 2
    assert settings.readme is None
    full = run.parse_args(["--sdk", "this"])
    assert full.sdks == ("this", "official-aio")
    assert full.memory_counts == (100_000, 1_000_000)
