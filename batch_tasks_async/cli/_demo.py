"""``batch-tasks demo``: the bulk engine against an emulator running in this process."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs
import click

from .._client import BatchClient
from .._credentials import SharedKeyCredential
from ..errors import CreateTasksError
from ..models import EnvironmentSetting, TaskAddParameter
from ._errors import EXIT_INCOMPLETE, EXIT_OK, run_async
from ._output import stderr_console, stdout_console
from ._progress import ProgressView

if TYPE_CHECKING:
    from ..emulator import EmulatorConfig

__all__ = ["CHAOS", "DemoReport", "demo_command", "generate_tasks"]

_PROB = click.FloatRange(0.0, 1.0)

#: The fault mix of ``--chaos``: some of everything the engine has to ride through.
CHAOS: dict[str, float] = {
    "throttle_429": 0.05,
    "busy_503": 0.02,
    "internal_error_500": 0.02,
    "task_server_error": 0.01,
    "drop_before_commit": 0.02,
    "drop_after_commit": 0.03,
}


def generate_tasks(count: int, *, prefix: str = "task") -> Iterator[TaskAddParameter]:
    """``count`` small tasks with ids ``{prefix}-000000`` upwards, made one at a time."""
    for number in range(count):
        yield TaskAddParameter(
            id=f"{prefix}-{number:06d}",
            command_line=f"/bin/sh -c 'echo processing item {number}'",
            environment_settings=[EnvironmentSetting(name="ITEM", value=str(number))],
        )


@attrs.define(kw_only=True)
class DemoReport:
    """What the demo measured, and whether the counts agree.

    Attributes:
        tasks: Tasks generated.
        added: Tasks the bulk engine reported added.
        failed: Tasks it reported failed or unconfirmed.
        listed: Tasks listed back through the pager.
        listed_distinct: Distinct task ids among them.
        pages: Pages the pager fetched.
        in_emulator: Tasks the emulator holds in the job.
        committed_twice: Tasks the emulator committed more than once (must be 0).
        requests_sent: Add-collection requests the engine sent, retries included.
        retried: Task submissions that were retries.
        throttled: Answers that asked the engine to slow down.
        emulator_requests: Requests the emulator saw, per operation.
        faults: Faults the emulator injected, per kind.
        seconds: Time the bulk add took.
    """

    tasks: int
    added: int = 0
    failed: int = 0
    listed: int = 0
    listed_distinct: int = 0
    pages: int = 0
    in_emulator: int = 0
    committed_twice: int = 0
    requests_sent: int = 0
    retried: int = 0
    throttled: int = 0
    emulator_requests: dict[str, int] = attrs.field(factory=dict)
    faults: dict[str, int] = attrs.field(factory=dict)
    seconds: float = 0.0

    @property
    def disagreements(self) -> list[str]:
        """Every count that differs from the number of tasks generated (empty: all agree)."""
        problems = []
        for name, value in (
            ("added", self.added),
            ("listed", self.listed),
            ("distinct ids listed", self.listed_distinct),
            ("in the emulator", self.in_emulator),
        ):
            if value != self.tasks:
                problems.append(f"{name}: {value:,} (expected {self.tasks:,})")
        if self.committed_twice:
            problems.append(f"committed more than once: {self.committed_twice:,}")
        return problems


def _emulator_config(
    *, key: str, job_id: str, faults: dict[str, Any], seed: int, retry_after: int
) -> EmulatorConfig:
    from ..emulator import EmulatorConfig, FaultConfig

    return EmulatorConfig(
        account_name="demo",
        account_key=key,
        jobs=(job_id,),
        faults=FaultConfig(seed=seed, retry_after=retry_after, **faults),
    )


async def run_demo(
    *,
    tasks: int,
    concurrency: int,
    job_id: str,
    faults: dict[str, Any],
    seed: int,
    retry_after: int,
    quiet: bool,
) -> DemoReport:
    """Start an emulator on a free loopback port, bulk-add ``tasks`` tasks, list them back."""
    from ..emulator import run_emulator

    key = base64.b64encode(os.urandom(32)).decode("ascii")
    config = _emulator_config(
        key=key, job_id=job_id, faults=faults, seed=seed, retry_after=retry_after
    )
    report = DemoReport(tasks=tasks)
    err = stderr_console()
    async with run_emulator(config) as emulator:
        if not quiet:
            err.print(f"emulator listening on {emulator.url} (account {emulator.account_name})")
        credential = SharedKeyCredential(config.account_name, key)
        async with BatchClient(
            emulator.url, credential, max_connections=max(concurrency, 8)
        ) as client:
            view = ProgressView(err, total=tasks, description="adding tasks", interval=2.0)
            started = time.monotonic()
            with view:
                try:
                    result = await client.task.add_collection(
                        job_id,
                        generate_tasks(tasks),
                        concurrency=concurrency,
                        on_progress=None if quiet else view,
                    )
                    report.added = sum(1 for r in result.value or () if r.status == "success")
                    report.failed = len(result.value or ()) - report.added
                except CreateTasksError as error:
                    report.added = error.added
                    report.failed = len(error.failed) + len(error.unconfirmed)
            report.seconds = time.monotonic() - started
            if view.last is not None:
                report.requests_sent = view.last.requests_sent
                report.retried = view.last.retried
                report.throttled = view.last.throttled
            ids: set[str] = set()
            async for page in client.task.list(job_id, select="id").pages():
                report.pages += 1
                for task in page.items:
                    report.listed += 1
                    if task.id is not None:
                        ids.add(task.id)
            report.listed_distinct = len(ids)
        report.in_emulator = len(emulator.task_ids(job_id))
        stats = emulator.stats()
        report.committed_twice = int(stats["tasks_committed_more_than_once"])
        report.emulator_requests = dict(stats["requests"])
        report.faults = dict(stats["faults"])
    return report


def _print_summary(report: DemoReport, job_id: str) -> None:
    out = stdout_console()
    rate = report.added / report.seconds if report.seconds > 0 else 0.0
    faults = ", ".join(f"{k} {v}" for k, v in sorted(report.faults.items()) if v) or "none"
    requests_total = sum(report.emulator_requests.values())
    out.print(
        f"[bold]Added {report.added:,} of {report.tasks:,} tasks[/] to job {job_id} "
        f"in {report.seconds:.2f} s ([bold]{rate:,.0f} tasks/s[/])"
    )
    out.print(
        f"  engine:   {report.requests_sent:,} add-collection requests, "
        f"{report.retried:,} task retries, {report.throttled:,} throttled answers, "
        f"{report.failed:,} failed or unconfirmed"
    )
    out.print(f"  pager:    {report.listed:,} tasks listed back in {report.pages:,} page(s)")
    out.print(
        f"  emulator: {report.in_emulator:,} tasks in the job, "
        f"{report.committed_twice:,} committed more than once; "
        f"{requests_total:,} requests; faults injected: {faults}"
    )
    problems = report.disagreements
    if problems:
        out.print("[bold red]MISMATCH:[/] " + "; ".join(problems))
    else:
        out.print("[bold green]OK:[/] every count agrees.")


@click.command("demo")
@click.option(
    "--tasks", "task_count", type=click.IntRange(1), default=10_000, show_default=True,
    help="How many tasks to generate and submit.",
)  # fmt: skip
@click.option(
    "--concurrency", type=click.IntRange(1, 1024), default=32, show_default=True,
    help="Most add-collection requests in flight at once.",
)  # fmt: skip
@click.option("--job", "job_id", default="demo-job", show_default=True, help="The job's id.")
@click.option("--chaos", is_flag=True, help="Turn on a mix of every fault (see below).")
@click.option("--throttle", type=_PROB, help="P(a request is answered 429 TooManyRequests).")
@click.option("--busy", type=_PROB, help="P(a request is answered 503 ServerBusy).")
@click.option("--internal-errors", type=_PROB, help="P(a request is answered 500).")
@click.option("--task-errors", type=_PROB, help="P(one task gets a per-task servererror).")
@click.option("--drop-before", type=_PROB, help="P(the connection drops before commit).")
@click.option("--drop-after", type=_PROB, help="P(the connection drops after commit).")
@click.option("--latency-ms", type=click.FloatRange(0.0), help="Latency added to each request.")
@click.option(
    "--rate-limit", type=click.FloatRange(min=0, min_open=True), metavar="TASKS_PER_S",
    help="Throttle the job above this many tasks per second.",
)  # fmt: skip
@click.option(
    "--retry-after", type=click.IntRange(0), default=1, show_default=True,
    help="Retry-After seconds sent with throttling answers.",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the faults.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def demo_command(
    *,
    task_count: int,
    concurrency: int,
    job_id: str,
    chaos: bool,
    throttle: float | None,
    busy: float | None,
    internal_errors: float | None,
    task_errors: float | None,
    drop_before: float | None,
    drop_after: float | None,
    latency_ms: float | None,
    rate_limit: float | None,
    retry_after: int,
    seed: int,
    quiet: bool,
) -> None:
    """Bulk-submit tasks to an emulator started in this process, and check every count.

    Starts the emulator on a free loopback port, creates a job, adds the tasks through the
    bulk engine with a live progress bar, lists them back through the pager and compares what
    the engine, the pager and the emulator counted. Fault options make the emulator throttle,
    fail and drop connections so you can watch the engine ride through; --chaos turns on
    5% 429s, 2% 503s, 2% 500s, 1% per-task server errors, 2% drops before and 3% after commit.

    Exit status: 0 when every count agrees, 3 when any differs.
    """
    faults: dict[str, Any] = dict(CHAOS) if chaos else {}
    chosen = {
        "throttle_429": throttle,
        "busy_503": busy,
        "internal_error_500": internal_errors,
        "task_server_error": task_errors,
        "drop_before_commit": drop_before,
        "drop_after_commit": drop_after,
        "latency_ms": latency_ms,
        "job_rate_limit": rate_limit,
    }
    faults.update({name: value for name, value in chosen.items() if value is not None})

    async def run() -> int:
        report = await run_demo(
            tasks=task_count,
            concurrency=concurrency,
            job_id=job_id,
            faults=faults,
            seed=seed,
            retry_after=retry_after,
            quiet=quiet,
        )
        _print_summary(report, job_id)
        return EXIT_OK if not report.disagreements else EXIT_INCOMPLETE

    run_async(run)
