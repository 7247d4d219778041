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
    from ..emulator import EmulatorConfig, FaultConfig

try:  # the fault flags are the emulator's own (same names as `batch-tasks emulator`)
    from ..emulator._fault_flags import fault_options, faults_from_flags

    _EMULATOR_MISSING: str | None = None
except ImportError as missing:  # no emulator extra: the demo cannot run, and says so
    _EMULATOR_MISSING = str(missing)

__all__ = ["DemoReport", "demo_command", "generate_tasks"]


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


def _emulator_config(*, key: str, job_id: str, faults: FaultConfig) -> EmulatorConfig:
    from ..emulator import EmulatorConfig

    return EmulatorConfig(account_name="demo", account_key=key, jobs=(job_id,), faults=faults)


async def run_demo(
    *,
    tasks: int,
    concurrency: int,
    job_id: str,
    faults: FaultConfig,
    quiet: bool,
) -> DemoReport:
    """Start an emulator on a free loopback port, bulk-add ``tasks`` tasks, list them back."""
    from ..emulator import run_emulator

    key = base64.b64encode(os.urandom(32)).decode("ascii")
    config = _emulator_config(key=key, job_id=job_id, faults=faults)
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


def _fault_flags(command: Any) -> Any:
    """The emulator's fault flags (and ``--chaos``) on the demo command."""
    if _EMULATOR_MISSING is not None:
        return command
    return fault_options(preset_aliases=[("--chaos", "chaos")])(command)


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
@_fault_flags
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def demo_command(
    *,
    task_count: int,
    concurrency: int,
    job_id: str,
    quiet: bool,
) -> None:
    """Bulk-submit tasks to an emulator started in this process, and check every count.

    Starts the emulator on a free loopback port, creates a job, adds the tasks through the
    bulk engine with a live progress bar, lists them back through the pager and compares what
    the engine, the pager and the emulator counted. Fault options make the emulator throttle,
    fail and drop connections so you can watch the engine ride through; they are the flags
    of `batch-tasks emulator`. --chaos (--faults-preset chaos) turns on 5% 429s, 2% 503s,
    2% 500s, 1% per-task server errors, 2% drops before and 3% after commit;
    --faults-preset hostile adds garbled, incomplete and drip-fed answers and late commits.

    Exit status: 0 when every count agrees, 3 when any differs.
    """
    if _EMULATOR_MISSING is not None:
        raise click.ClickException(
            'the demo needs the emulator: pip install "batch-tasks-async[emulator]" '
            f"({_EMULATOR_MISSING})"
        )
    faults = faults_from_flags(click.get_current_context())

    async def run() -> int:
        report = await run_demo(
            tasks=task_count, concurrency=concurrency, job_id=job_id, faults=faults, quiet=quiet
        )
        _print_summary(report, job_id)
        return EXIT_OK if not report.disagreements else EXIT_INCOMPLETE

    run_async(run)
