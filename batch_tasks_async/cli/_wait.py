"""``wait JOB``, ``files JOB TASK`` and ``download JOB TASK PATH``; ``submit --wait`` reuses
[`wait_and_report`][batch_tasks_async.cli._wait.wait_and_report]."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .._client import BatchClient
from .._serialization import dumps
from .._wait_ledger import WaitProgress, WaitSummary
from ..errors import MissingTasksError, WaitTimeoutError
from ._connection import ConnectionSettings, connection_options, open_client
from ._errors import EXIT_INCOMPLETE, EXIT_OK, CommandFailed, run_async
from ._output import stderr_console, stdout_console
from ._progress import LiveBar

__all__ = [
    "WaitView",
    "download_command",
    "files_command",
    "wait_and_report",
    "wait_command",
    "wait_options",
]

#: Failed tasks listed one by one before only counting the rest.
MAX_LISTED = 20


def format_wait(progress: WaitProgress) -> str:
    """One line describing where a wait stands."""
    return (
        f"completed {progress.completed} of {progress.total}, failed {progress.failed}, "
        f"running {progress.running}, active {progress.active}"
    )


class WaitView(LiveBar):
    """An ``on_progress`` callback for a wait: a progress bar on a terminal, else lines.

    The bar shows completed of total tasks and the failures so far; without a terminal a
    line is printed at most every ``interval`` seconds.
    """

    def __init__(self, console: Console, *, description: str, interval: float = 5.0) -> None:
        self._console = console
        self._description = description
        self._interval = interval
        self._last_line = -float("inf")
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[detail]}"),
                console=console,
            )

    def __call__(self, progress: WaitProgress) -> None:
        """Show ``progress``."""
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=progress.completed,
                total=progress.total,
                detail=f"failed {progress.failed}  running {progress.running}",
            )
            return
        now = time.monotonic()
        if now - self._last_line >= self._interval:
            self._last_line = now
            self._console.print(format_wait(progress), highlight=False, soft_wrap=True)


def _report(summary: WaitSummary) -> None:
    click.echo(
        f"{summary.completed} of {summary.total} tasks completed: {summary.succeeded} "
        f"succeeded, {summary.failed} failed"
        + (f", {len(summary.missing)} not in the job" if summary.missing else "")
    )
    for failure in summary.failures[:MAX_LISTED]:
        info = failure.failure_info
        why = f": {info.code}: {(info.message or '').strip()}" if info is not None else ""
        click.echo(f"failed: {failure.task_id} (exit code {failure.exit_code}){why}")
    if summary.failed > MAX_LISTED:
        click.echo(f"... and {summary.failed - MAX_LISTED} more failed task(s)")
    for task_id in summary.missing[:MAX_LISTED]:
        click.echo(f"missing: {task_id}")


async def wait_and_report(
    client: BatchClient,
    job_id: str,
    *,
    task_ids: tuple[str, ...] = (),
    timeout: float | None,
    poll_interval: float,
    quiet: bool,
) -> int:
    """Wait for the tasks, print the summary and failures, and return the exit code.

    Returns:
        0 when every task succeeded, 3 when some failed or are not in the job.

    Raises:
        CommandFailed: The wait timed out (the summary so far is printed first).
    """
    view = WaitView(stderr_console(), description=f"waiting on {job_id}")
    try:
        with view:
            summary = await client.task.wait(
                job_id,
                task_ids or None,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=None if quiet else view,
            )
    except WaitTimeoutError as error:
        _report(error.summary)
        raise CommandFailed(str(error)) from None
    except MissingTasksError as error:
        summary = error.summary
    _report(summary)
    return EXIT_OK if summary.all_succeeded else EXIT_INCOMPLETE


def wait_options(func: click.decorators.FC) -> click.decorators.FC:
    """The ``--timeout`` and ``--poll-interval`` options of ``wait`` and ``submit --wait``."""
    func = click.option(
        "--poll-interval",
        type=click.FloatRange(min=0, min_open=True),
        default=5.0,
        show_default=True,
        metavar="SECONDS",
        help="Seconds between polls (each poll is one task-counts request).",
    )(func)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        help="Give up after this long (exit 1, with the summary so far).",
    )(func)


@click.command("wait")
@click.argument("job_id", metavar="JOB")
@click.option(
    "--task-id",
    "task_ids",
    multiple=True,
    metavar="ID",
    help="Wait for this task only (repeatable); every task of JOB by default.",
)
@wait_options
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@connection_options
def wait_command(
    *,
    job_id: str,
    task_ids: tuple[str, ...],
    timeout: float | None,
    poll_interval: float,
    quiet: bool,
    connection: ConnectionSettings,
) -> None:
    """Wait until every task of JOB has completed; list the failed ones.

    Polling is cheap: one task-counts request per poll, and a listing of only the tasks that
    completed since the last one when the counts changed.

    Exit status: 0 when every task succeeded; 3 when some failed (or a --task-id is not in
    JOB); 1 when the wait could not be carried out or timed out (e.g. the job does not exist).
    """

    async def run() -> int:
        async with open_client(connection) as client:
            return await wait_and_report(
                client,
                job_id,
                task_ids=task_ids,
                timeout=timeout,
                poll_interval=poll_interval,
                quiet=quiet,
            )

    run_async(run, secrets=connection.secrets)


@click.command("files")
@click.argument("job_id", metavar="JOB")
@click.argument("task_id", metavar="TASK")
@click.option("--recursive", "-r", is_flag=True, help="Also list what is under subdirectories.")
@click.option("--filter", "filter_", metavar="ODATA", help="OData $filter on the file names.")
@click.option(
    "--output", "-o", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@connection_options
def files_command(
    *,
    job_id: str,
    task_id: str,
    recursive: bool,
    filter_: str | None,
    output: str,
    connection: ConnectionSettings,
) -> None:
    """List the files of TASK in JOB on its node (stdout.txt, stderr.txt, wd/...)."""

    async def run() -> int:
        async with open_client(connection) as client:
            pager = client.file.list_from_task(
                job_id, task_id, recursive=recursive or None, filter=filter_
            )
            if output == "jsonl":
                out = sys.stdout.buffer
                async for node_file in pager:
                    out.write(dumps(node_file) + b"\n")
                out.flush()
                return EXIT_OK
            table = Table(show_header=True, header_style="bold")
            table.add_column("name", overflow="fold")
            table.add_column("size", justify="right")
            table.add_column("modified")
            async for node_file in pager:
                props = node_file.properties
                table.add_row(
                    (node_file.name or "") + ("/" if node_file.is_directory else ""),
                    "" if props is None else str(props.content_length),
                    "" if props is None else props.last_modified.isoformat(timespec="seconds"),
                )
            stdout_console().print(table)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


@click.command("download")
@click.argument("job_id", metavar="JOB")
@click.argument("task_id", metavar="TASK")
@click.argument("file_path", metavar="PATH")
@click.option(
    "--dest",
    metavar="FILE",
    default="-",
    show_default=True,
    help="Where to write the file (- for standard output); replaced only once complete.",
)
@click.option("--range", "byte_range", metavar="bytes=START-END", help="Only these bytes.")
@connection_options
def download_command(
    *,
    job_id: str,
    task_id: str,
    file_path: str,
    dest: str,
    byte_range: str | None,
    connection: ConnectionSettings,
) -> None:
    """Stream PATH (e.g. stdout.txt) of TASK in JOB to standard output or to --dest."""

    async def run() -> int:
        async with open_client(connection) as client:
            download = client.file.get_from_task(job_id, task_id, file_path, ocp_range=byte_range)
            if dest != "-":
                props = await download.to_path(dest)
                size = f"{props.content_length} bytes" if props.content_length is not None else ""
                click.echo(f"saved {file_path} of {task_id!r} to {dest} {size}".rstrip(), err=True)
                return EXIT_OK
            sys.stdout.flush()
            out = sys.stdout.buffer
            async with download as opened:
                async for chunk in opened:
                    out.write(chunk)
            out.flush()
        return EXIT_OK

    run_async(run, secrets=connection.secrets)
