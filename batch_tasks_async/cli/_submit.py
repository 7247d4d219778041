"""``batch-tasks submit JOB FILE|-``: bulk-add tasks from JSON Lines or a JSON array, streaming."""

from __future__ import annotations

import os
import shlex
import stat
import time
from pathlib import Path
from typing import IO, Any

import anyio
import click
import orjson

from ..errors import UnconfirmedTask
from ..models import BatchError, TaskAddResult, TaskAddStatus
from ._common import id_arguments, output_options
from ._connection import ConnectionSettings, connection_options, open_client
from ._errors import EXIT_INCOMPLETE, EXIT_OK, CommandFailed, describe_error, run_async, scrub
from ._jsonl import MalformedLine, TaskReader
from ._output import Renderer, stderr_console
from ._progress import ProgressView
from ._wait import wait_and_report, wait_options

__all__ = ["SubmitOutcome", "describe_task_error", "resume_command", "submit_command"]

#: Problems echoed one by one on standard error before only counting the rest.
MAX_ECHOED = 20


def describe_task_error(error: BatchError | None) -> str:
    """A task's error in one line: the code, the message's first line and every detail the
    service gave (``PropertyName``, ``Reason``, ...)."""
    if error is None:
        return "no error code"
    text = error.code or "no error code"
    message = (error.message.value or "") if error.message is not None else ""
    message = message.strip().split("\n", 1)[0].strip()
    if message:
        text += f": {message}"
    details = [f"{d.key}={d.value}" for d in error.values or () if d.key]
    if details:
        text += " [" + ", ".join(details) + "]"
    return text


def _file_size(stream: IO[bytes]) -> int | None:
    """The size of a regular file (``None`` for a pipe, a terminal or standard input)."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) and info.st_size > 0 else None


class SubmitOutcome:
    """Tallies of a submission, and the report being written.

    The report (when there is one) gets one JSON line per task read, in the order outcomes
    became known: ``added``, ``existed``, a failure status (``clienterror``/``servererror``,
    with the error), ``unconfirmed`` or ``malformed``, each with its input ``line``; then one
    ``summary`` line. Failures and malformed lines are also echoed (the first ``MAX_ECHOED``)
    through ``echo``.
    """

    def __init__(self, report: IO[bytes] | None, reader: TaskReader | None = None) -> None:
        self.report = report
        self.reader = reader
        self.echo: Any = lambda text: click.echo(text, err=True)
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

    def _line(self, task_id: str) -> int | None:
        return self.reader.line_of(task_id) if self.reader is not None else None

    def _write(self, entry: dict[str, Any]) -> None:
        if self.report is not None:
            self.report.write(orjson.dumps(entry) + b"\n")

    def _shout(self, text: str) -> None:
        if self._echoed < MAX_ECHOED:
            self.echo(text)
        elif self._echoed == MAX_ECHOED:
            self.echo("(further problems are only counted; see the report)")
        self._echoed += 1

    def on_malformed(self, line: MalformedLine) -> None:
        """Record a line that is not a task."""
        self.malformed += 1
        self._write(line.to_dict())
        self._shout(f"line {line.line}: {line.code}: {line.message}")

    def on_result(self, result: TaskAddResult) -> None:
        """Record the final result of one task."""
        line = self._line(result.task_id)
        code = result.error.code if result.error is not None else None
        if result.status == TaskAddStatus.SUCCESS:
            # With --if-exists skip a task that was already there succeeds with TaskExists.
            existed = code == "TaskExists"
            if existed:
                self.existed += 1
            else:
                self.added += 1
            self._write(
                {
                    "line": line,
                    "taskId": result.task_id,
                    "status": "existed" if existed else "added",
                }
            )
            return
        self.failed += 1
        entry = {"line": line, **result.to_dict()}
        self._write(entry)
        where = f"line {line}: " if line is not None else ""
        self._shout(
            f"{where}task {result.task_id}: {result.status.value}: "
            f"{describe_task_error(result.error)}"
        )

    def on_unconfirmed(self, task: UnconfirmedTask) -> None:
        """Record a task whose outcome is not known (written to the report, counted)."""
        self.unconfirmed += 1
        if task.ambiguous:
            self.ambiguous += 1
        self._write(
            {
                "line": self._line(task.task_id),
                "taskId": task.task_id,
                "status": "unconfirmed",
                "ambiguous": task.ambiguous,
                "error": {"code": "TaskNotConfirmed", "message": task.reason},
            }
        )

    def summary(self) -> str:
        """The counts in one line."""
        return (
            f"added {self.added}, existed {self.existed}, failed {self.failed}, "
            f"unconfirmed {self.unconfirmed}, malformed lines {self.malformed}"
        )

    def summary_dict(self, *, interrupted: bool, resume: str | None) -> dict[str, Any]:
        """The counts, whether the run was interrupted, and the command that resumes it."""
        return {
            "status": "summary",
            "added": self.added,
            "existed": self.existed,
            "failed": self.failed,
            "unconfirmed": self.unconfirmed,
            "malformed": self.malformed,
            "interrupted": interrupted,
            "resume": resume,
        }

    def write_summary(self, *, interrupted: bool, resume: str | None) -> None:
        """Write the report's last line: the counts, and how to resume."""
        self._write(self.summary_dict(interrupted=interrupted, resume=resume))
        if self.report is not None:
            self.report.flush()


def _resume_report(path: str) -> str:
    name = Path(path)
    return str(name.with_name(f"{name.stem}.resume{name.suffix or '.jsonl'}"))


def resume_command(ctx: click.Context, *, job_id: str, source: str) -> str:
    """The command that finishes an interrupted ``submit`` safely: the same options given on
    the command line, with ``--if-exists skip`` (tasks already added count as done) and a new
    report file (so the first one is kept). A key given on the command line is not repeated."""
    words = ["batch-tasks", "submit", job_id, source]
    skipped = {"positional_ids", "job_id_option", "if_exists"}
    for param in ctx.command.params:
        name = param.name
        if name is None or name in skipped or not isinstance(param, click.Option):
            continue
        if ctx.get_parameter_source(name) != click.core.ParameterSource.COMMANDLINE:
            continue
        value = ctx.params.get(name)
        flag = max(param.opts, key=len)
        if param.is_flag:
            if value:
                words.append(flag)
        elif name == "account_key":
            words += [flag, "<your key>"]
        elif name == "report":
            words += [flag, _resume_report(getattr(value, "name", str(value)))]
        else:
            words += [flag, str(value)]
    words += ["--if-exists", "skip"]
    return shlex.join(words).replace("'<your key>'", "<your key>")


@click.command("submit")
@id_arguments("job", "source")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=32,
    show_default=True,
    help="Most add-collection requests in flight at once (1-1024).",
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
    help="Write every task's outcome, with its input line, here (JSON Lines), then a summary.",
)
@click.option(
    "--max-tasks-per-request",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Most tasks in one add-collection request (1-100).",
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
@output_options(default="none")
@connection_options
def submit_command(
    *,
    job_id: str,
    source: str,
    concurrency: int,
    if_exists: str,
    report: IO[bytes] | None,
    max_tasks_per_request: int,
    deadline: float | None,
    quiet: bool,
    wait_: bool,
    timeout: float | None,
    poll_interval: float,
    render: Renderer,
    connection: ConnectionSettings,
) -> None:
    """Add the tasks in SOURCE (a file, or - for standard input) to JOB.

    SOURCE holds JSON Lines (one task per line) or a JSON array of tasks (pretty-printed or
    not), each in the REST API's wire format, for example {"id": "t1", "commandLine": "echo
    hi"}. It is streamed, never read whole. A malformed task is reported with its line number
    and the others are still submitted.

    Ctrl-C stops the run: the report is completed (added, failed and unconfirmed tasks) and
    the command that resumes safely (--if-exists skip) is printed.

    Exit status: 0 when every task was added (or, with --if-exists skip, already existed);
    3 when some failed, were not confirmed, or some lines were malformed; 1 when the run
    could not be carried out (e.g. authentication failed or the job does not exist); 130 on
    Ctrl-C. With --wait: then waits for every task of JOB (as `batch-tasks wait` does) and
    exits 3 too when a task failed, 1 when --timeout passed first.
    """
    ctx = click.get_current_context()
    try:
        stream: IO[bytes] = click.open_file(source, "rb")
    except OSError as error:
        raise click.BadParameter(
            f"cannot open {source!r}: {error.strerror}", param_hint="'SOURCE'"
        ) from None
    outcome = SubmitOutcome(report)
    reader = TaskReader(stream, outcome.on_malformed)
    outcome.reader = reader
    console = stderr_console()
    view = ProgressView(
        console,
        total_bytes=_file_size(stream),
        bytes_read=lambda: reader.bytes_read,
        description=f"adding tasks to {job_id}",
    )
    if not quiet:
        outcome.echo = view.print
    resume = resume_command(ctx, job_id=job_id, source=source)

    async def run() -> int:
        started = time.monotonic()
        fatal: BaseException | None = None
        interrupted = False
        finished = False
        bulk = None
        try:
            async with open_client(connection) as client:
                with view:
                    bulk = client.task.stream_add_collection(
                        job_id,
                        reader.tasks(),
                        concurrency=concurrency,
                        max_tasks_per_request=max_tasks_per_request,
                        deadline=deadline,
                        if_exists="skip" if if_exists == "skip" else "fail",
                        on_progress=None if quiet else view,
                        raise_on_failure=False,
                    )
                    async with bulk:
                        async for result in bulk:
                            outcome.on_result(result)
                    finished = True
        except (KeyboardInterrupt, anyio.get_cancelled_exc_class()):
            interrupted = True
            raise
        finally:
            if bulk is not None:
                if not finished:
                    # Results that were final but not yet handed over are still outcomes.
                    for result in bulk.pending_results:
                        outcome.on_result(result)
                for task in bulk.unconfirmed:
                    outcome.on_unconfirmed(task)
                if finished and bulk.unconfirmed and bulk.request_errors:
                    # The run stopped early: an error doomed every request (e.g. JobNotFound)
                    # or the service kept failing; tasks after the last one read were not sent.
                    fatal = bulk.request_errors[0]
            needs_resume = not finished or outcome.unconfirmed > 0
            outcome.write_summary(interrupted=interrupted, resume=resume if needs_resume else None)
            elapsed = time.monotonic() - started
            progress = bulk.progress if bulk is not None else None
            line = f"{outcome.summary()} in {elapsed:.1f}s"
            if progress is not None:
                line += (
                    f" ({progress.requests_sent} requests, {progress.retried} task retries, "
                    f"{progress.throttled} throttled)"
                )
            if interrupted:
                click.echo(f"interrupted (Ctrl-C): {line}", err=True)
            elif not finished:
                click.echo(f"stopped: {line}", err=True)
            else:
                click.echo(line, err=True)
            if outcome.unconfirmed:
                click.echo(
                    f"{outcome.unconfirmed} task(s) were not confirmed "
                    f"({outcome.ambiguous} of them may have been added)"
                    + ("; see the report" if report is not None else ""),
                    err=True,
                )
            if needs_resume:
                if source == "-":
                    click.echo(
                        "to resume safely, send the same input again to: "
                        + scrub(resume, connection.secrets),
                        err=True,
                    )
                else:
                    click.echo("to resume safely: " + scrub(resume, connection.secrets), err=True)
        if fatal is not None:
            raise CommandFailed(
                "the run stopped: " + scrub(describe_error(fatal), connection.secrets)
            )
        render.one(
            outcome.summary_dict(interrupted=False, resume=resume if outcome.unconfirmed else None)
            | {"elapsed": round(time.monotonic() - started, 3)}
        )
        code = EXIT_OK if outcome.problems == 0 else EXIT_INCOMPLETE
        if wait_:
            async with open_client(connection) as client:
                waited = await wait_and_report(
                    client, job_id, timeout=timeout, poll_interval=poll_interval, quiet=quiet
                )
            code = max(code, waited)
        return code

    try:
        run_async(run, secrets=connection.secrets, interrupt_message=None)
    finally:
        if source != "-":
            stream.close()
