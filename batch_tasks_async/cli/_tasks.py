"""``list``, ``get``, ``update``, ``delete``, ``terminate``, ``reactivate`` and ``subtasks``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import click

from .._response import ResponseMetadata
from .._serialization import parse_duration
from ..models import CloudTask, SubtaskInformation, TaskConstraints
from ._connection import ConnectionSettings, connection_options, open_client
from ._errors import EXIT_OK, run_async
from ._output import print_json, stdout_console, subtask_table, task_table, write_jsonl

__all__ = [
    "delete_command",
    "get_command",
    "list_command",
    "reactivate_command",
    "subtasks_command",
    "terminate_command",
    "update_command",
]

_OUTPUT = click.Choice(["table", "jsonl"])


def _done(verb: str, job_id: str, task_id: str, meta: ResponseMetadata) -> None:
    click.echo(f"{verb} task {task_id!r} of job {job_id!r} (request-id {meta.request_id})")


@click.command("list")
@click.argument("job_id", metavar="JOB")
@click.option(
    "--filter", "filter_", metavar="ODATA", help="OData $filter, e.g. \"state eq 'completed'\"."
)
@click.option("--select", metavar="PROPS", help="Comma-separated properties to return ($select).")
@click.option("--expand", metavar="WHAT", help="Related entities to expand ($expand), e.g. stats.")
@click.option(
    "--max-results",
    type=click.IntRange(1, 1000),
    help="Tasks per page the service returns (maxresults, 1-1000); every page is fetched.",
)
@click.option("--limit", type=click.IntRange(1), help="Stop after this many tasks.")
@click.option("--output", "-o", type=_OUTPUT, default="table", show_default=True)
@connection_options
def list_command(
    *,
    job_id: str,
    filter_: str | None,
    select: str | None,
    expand: str | None,
    max_results: int | None,
    limit: int | None,
    output: str,
    connection: ConnectionSettings,
) -> None:
    """List the tasks of JOB, following every page."""

    async def run() -> int:
        async with open_client(connection) as client:
            pager = client.task.list(
                job_id, filter=filter_, select=select, expand=expand, max_results=max_results
            )

            async def items() -> AsyncIterator[CloudTask]:
                count = 0
                async for task in pager:
                    if limit is not None and count >= limit:
                        return
                    count += 1
                    yield task

            if output == "jsonl":
                await write_jsonl(items())
            else:
                tasks = [task async for task in items()]
                stdout_console().print(task_table(tasks))
                click.echo(f"{len(tasks)} task(s)", err=True)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


@click.command("get")
@click.argument("job_id", metavar="JOB")
@click.argument("task_id", metavar="TASK")
@click.option("--select", metavar="PROPS", help="Comma-separated properties to return ($select).")
@click.option("--expand", metavar="WHAT", help="Related entities to expand ($expand), e.g. stats.")
@connection_options
def get_command(
    *,
    job_id: str,
    task_id: str,
    select: str | None,
    expand: str | None,
    connection: ConnectionSettings,
) -> None:
    """Print task TASK of JOB as JSON (the service's wire format)."""

    async def run() -> int:
        async with open_client(connection) as client:
            task = await client.task.get(job_id, task_id, select=select, expand=expand)
        print_json(task)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


def _parse_duration(value: str | None) -> timedelta | None:
    if value is None:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return timedelta(seconds=float(value))
    try:
        return parse_duration(value)
    except (ValueError, TypeError):
        raise click.BadParameter(
            f"{value!r} is neither seconds nor an ISO 8601 duration such as PT1H30M"
        ) from None


@click.command("update")
@click.argument("job_id", metavar="JOB")
@click.argument("task_id", metavar="TASK")
@click.option(
    "--max-wall-clock-time",
    metavar="DURATION",
    help="Longest the task may run: seconds or ISO 8601 (PT2H).",
)
@click.option(
    "--retention-time",
    metavar="DURATION",
    help="How long to keep the task's directory after it completes: seconds or ISO 8601.",
)
@click.option(
    "--max-task-retry-count",
    type=click.IntRange(-1),
    help="Retries after the first attempt (-1: without limit).",
)
@click.option("--if-match", metavar="ETAG", help="Update only if the task still has this ETag.")
@connection_options
def update_command(
    *,
    job_id: str,
    task_id: str,
    max_wall_clock_time: str | None,
    retention_time: str | None,
    max_task_retry_count: int | None,
    if_match: str | None,
    connection: ConnectionSettings,
) -> None:
    """Set the constraints of task TASK of JOB.

    The service replaces the constraints whole: an option left out is reset to its default.
    """
    constraints = TaskConstraints(
        max_wall_clock_time=_parse_duration(max_wall_clock_time),
        retention_time=_parse_duration(retention_time),
        max_task_retry_count=max_task_retry_count,
    )

    async def run() -> int:
        async with open_client(connection) as client:
            meta = await client.task.update(
                job_id, task_id, constraints=constraints, if_match=if_match
            )
        _done("updated", job_id, task_id, meta)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


def _simple_command(name: str, verb: str, summary: str) -> click.Command:
    @click.command(name, help=summary)
    @click.argument("job_id", metavar="JOB")
    @click.argument("task_id", metavar="TASK")
    @click.option("--if-match", metavar="ETAG", help="Act only if the task still has this ETag.")
    @connection_options
    def command(
        *, job_id: str, task_id: str, if_match: str | None, connection: ConnectionSettings
    ) -> None:
        async def run() -> int:
            async with open_client(connection) as client:
                operation = getattr(client.task, name)
                meta: ResponseMetadata = await operation(job_id, task_id, if_match=if_match)
            _done(verb, job_id, task_id, meta)
            return EXIT_OK

        run_async(run, secrets=connection.secrets)

    return command


delete_command = _simple_command(
    "delete", "deleted", "Delete task TASK of JOB (a running task is terminated first)."
)
terminate_command = _simple_command(
    "terminate", "terminated", "Terminate task TASK of JOB: it moves to the completed state."
)
reactivate_command = _simple_command(
    "reactivate",
    "reactivated",
    "Reactivate task TASK of JOB, a failed task: it becomes active again.",
)


@click.command("subtasks")
@click.argument("job_id", metavar="JOB")
@click.argument("task_id", metavar="TASK")
@click.option("--output", "-o", type=_OUTPUT, default="table", show_default=True)
@connection_options
def subtasks_command(
    *, job_id: str, task_id: str, output: str, connection: ConnectionSettings
) -> None:
    """List the subtasks of multi-instance task TASK of JOB."""

    async def run() -> int:
        async with open_client(connection) as client:
            pager = client.task.list_subtasks(job_id, task_id)
            if output == "jsonl":
                await write_jsonl(aiter(pager))
            else:
                subtasks: list[SubtaskInformation] = await pager.to_list()
                stdout_console().print(subtask_table(subtasks))
                click.echo(f"{len(subtasks)} subtask(s)", err=True)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)
