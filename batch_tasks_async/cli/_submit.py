"""``batch-tasks submit JOB FILE|-``: bulk-add tasks from JSON Lines, streaming."""

from __future__ import annotations

import time
from typing import IO, Any

import click
import orjson

from ..errors import UnconfirmedTask
from ..models import TaskAddResult, TaskAddStatus
from ._connection import ConnectionSettings, connection_options, open_client
from ._errors import EXIT_INCOMPLETE, EXIT_OK, CommandFailed, describe_error, run_async, scrub
from ._jsonl import MalformedLine, read_tasks
from ._output import stderr_console
from ._progress import ProgressView
from ._wait import wait_and_report, wait_options

__all__ = ["SubmitOutcome", "submit_command"]

#: Problems echoed one by one on standard error before only counting the rest.
MAX_ECHOED = 20


class SubmitOutcome:
    """Tallies of a submission, and the failure report being written.

    Failed tasks, malformed lines and unconfirmed tasks are each written as one JSON line to
    the report (when there is one). Failed tasks and malformed lines are also echoed on
    standard error (the first ``MAX_ECHOED``); unconfirmed tasks are summed up in one line.
    """

    def __init__(self, report: IO[bytes] | None) -> None:
        self.report = report
        self.added = 0
        self.existed = 0
        self.failed = 0
        self.malformed = 0
        self.unconfirmed = 0
        self.ambiguous = 0
        self._echoed = 0

    @property
    def problems(self) -> int:
        """Tasks or lines that did not end in the job."""
        return self.failed + self.malformed + self.unconfirmed

    def _record(self, entry: dict[str, Any], echo: str) -> None:
        if self.report is not None:
            self.report.write(orjson.dumps(entry) + b"\n")
        if self._echoed < MAX_ECHOED:
            click.echo(echo, err=True)
        elif self._echoed == MAX_ECHOED:
            click.echo("(further problems are only counted)", err=True)
        self._echoed += 1

    def on_malformed(self, line: MalformedLine) -> None:
        """Record a line that is not a task."""
        self.malformed += 1
        self._record(line.to_dict(), f"line {line.line}: {line.code}: {line.message}")

    def on_result(self, result: TaskAddResult) -> None:
        """Record the final result of one task."""
        code = result.error.code if result.error is not None else None
        if result.status == TaskAddStatus.SUCCESS:
            # With --if-exists skip a task that was already there succeeds with TaskExists.
            if code == "TaskExists":
                self.existed += 1
            else:
                self.added += 1
            return
        self.failed += 1
        message = ""
        if result.error is not None and result.error.message is not None:
            message = (result.error.message.value or "").split("\n", 1)[0]
        self._record(
            result.to_dict(),
            f"task {result.task_id}: {result.status.value}: {code or 'no error code'}"
            + (f": {message}" if message else ""),
        )

    def on_unconfirmed(self, task: UnconfirmedTask) -> None:
        """Record a task whose outcome is not known (written to the report, counted)."""
        self.unconfirmed += 1
        if task.ambiguous:
            self.ambiguous += 1
        if self.report is not None:
            self.report.write(
                orjson.dumps(
                    {
                        "taskId": task.task_id,
                        "status": "unconfirmed",
                        "ambiguous": task.ambiguous,
                        "error": {"code": "TaskNotConfirmed", "message": task.reason},
                    }
                )
                + b"\n"
            )


@click.command("submit")
@click.argument("job_id", metavar="JOB")
@click.argument("source", metavar="FILE|-", type=click.File("rb"))
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=32,
    show_default=True,
    help="Most add-collection requests in flight at once.",
)
@click.option(
    "--if-exists",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="A task that already exists: a failure, or skipped as done (for reruns).",
)
@click.option(
    "--report",
    type=click.File("wb", lazy=False),
    metavar="FILE",
    help="Write every failed task, unconfirmed task and malformed line here (JSON Lines).",
)
@click.option(
    "--max-tasks-per-request",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Most tasks in one add-collection request.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after this long; tasks not yet confirmed are reported.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option(
    "--wait", "wait_", is_flag=True, help="Then wait until every task of JOB has completed."
)
@wait_options
@connection_options
def submit_command(
    *,
    job_id: str,
    source: IO[bytes],
    concurrency: int,
    if_exists: str,
    report: IO[bytes] | None,
    max_tasks_per_request: int,
    deadline: float | None,
    quiet: bool,
    wait_: bool,
    timeout: float | None,
    poll_interval: float,
    connection: ConnectionSettings,
) -> None:
    """Add the tasks in FILE (JSON Lines; - for standard input) to JOB.

    Each line holds one task in the REST API's wire format, for example
    {"id": "t1", "commandLine": "echo hi"}. The file is streamed, never read whole. A malformed
    line is reported with its line number and the other lines are still submitted.

    Exit status: 0 when every task was added (or, with --if-exists skip, already existed);
    3 when some failed, were not confirmed, or some lines were malformed; 1 when the run
    could not be carried out (e.g. authentication failed or the job does not exist).
    With --wait: then waits for every task of JOB (as `batch-tasks wait` does) and exits 3 too
    when a task failed, 1 when --timeout passed first.
    """
    outcome = SubmitOutcome(report)
    console = stderr_console()

    async def run() -> int:
        started = time.monotonic()
        view = ProgressView(console, description=f"adding tasks to {job_id}")
        tasks = read_tasks(source, outcome.on_malformed)
        fatal: BaseException | None = None
        async with open_client(connection) as client:
            with view:
                stream = client.task.stream_add_collection(
                    job_id,
                    tasks,
                    concurrency=concurrency,
                    max_tasks_per_request=max_tasks_per_request,
                    deadline=deadline,
                    if_exists="skip" if if_exists == "skip" else "fail",
                    on_progress=None if quiet else view,
                    raise_on_failure=False,
                )
                async with stream:
                    async for result in stream:
                        outcome.on_result(result)
                progress = stream.progress
                for task in stream.unconfirmed:
                    outcome.on_unconfirmed(task)
                if outcome.unconfirmed:
                    click.echo(
                        f"{outcome.unconfirmed} task(s) were not confirmed "
                        f"({outcome.ambiguous} of them may have been added)"
                        + ("; see the report" if report is not None else ""),
                        err=True,
                    )
                if stream.unconfirmed and stream.request_errors:
                    # The run stopped early: an error doomed every request (e.g. JobNotFound)
                    # or the service kept failing; lines after the last one read were not sent.
                    fatal = stream.request_errors[0]
        if report is not None:
            report.flush()
        elapsed = time.monotonic() - started
        click.echo(
            f"added {outcome.added}, existed {outcome.existed}, failed {outcome.failed}, "
            f"unconfirmed {outcome.unconfirmed}, malformed lines {outcome.malformed} "
            f"in {elapsed:.1f}s ({progress.requests_sent} requests, "
            f"{progress.retried} task retries, {progress.throttled} throttled)"
        )
        if fatal is not None:
            raise CommandFailed(
                "the run stopped: " + scrub(describe_error(fatal), connection.secrets)
            )
        code = EXIT_OK if outcome.problems == 0 else EXIT_INCOMPLETE
        if wait_:
            async with open_client(connection) as client:
                waited = await wait_and_report(
                    client, job_id, timeout=timeout, poll_interval=poll_interval, quiet=quiet
                )
            code = max(code, waited)
        return code

    run_async(run, secrets=connection.secrets)
