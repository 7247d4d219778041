"""``create``, ``list``, ``get``, ``update``, ``delete``, ``terminate``, ``reactivate`` and
``subtasks``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import IO, Any

import click
import orjson

from .._response import ResponseMetadata
from .._serialization import format_duration
from ..errors import PreconditionFailedError
from ..models import CloudTask, TaskAddStatus, TaskConstraints
from ._common import DURATION, id_arguments, output_options
from ._connection import ConnectionSettings, connection_options, open_client
from ._errors import EXIT_INCOMPLETE, EXIT_OK, CommandFailed, run_async
from ._output import SUBTASK_COLUMNS, TASK_COLUMNS, Column, Renderer

__all__ = [
    "create_command",
    "delete_command",
    "get_command",
    "list_command",
    "reactivate_command",
    "subtasks_command",
    "terminate_command",
    "update_command",
]

#: The columns of an action's result (``update``, ``delete``, ...) in table form.
ACTION_COLUMNS = (
    Column("jobId", ("jobId",)),
    Column("taskId", ("taskId",)),
    Column("action", ("action",)),
    Column("eTag", ("eTag",)),
    Column("requestId", ("requestId",)),
)
#: The columns of ``create`` results in table form.
CREATE_COLUMNS = (
    Column("taskId", ("taskId",)),
    Column("status", ("status",)),
    Column("error", ("error", "code")),
    Column("eTag", ("eTag",)),
)


def _action_result(
    action: str, job_id: str, task_id: str, meta: ResponseMetadata
) -> dict[str, Any]:
    click.echo(
        f"{action} task {task_id!r} of job {job_id!r} (request-id {meta.request_id})", err=True
    )
    return {
        "jobId": job_id,
        "taskId": task_id,
        "action": action,
        "eTag": meta.e_tag,
        "lastModified": meta.last_modified,
        "requestId": meta.request_id,
    }


def _constraint_options(func: Any) -> Any:
    func = click.option(
        "--max-task-retry-count",
        type=click.IntRange(-1),
        help="Retries after the first attempt (-1: without limit).",
    )(func)
    func = click.option(
        "--retention-time",
        type=DURATION,
        help="How long to keep the task's directory after it completes: seconds, 2h, 1h30m "
        "or ISO 8601 (PT2H).",
    )(func)
    return click.option(
        "--max-wall-clock-time",
        type=DURATION,
        help="Longest the task may run: seconds, 2h, 1h30m or ISO 8601 (PT2H).",
    )(func)


# -- create ---------------------------------------------------------------------------------


def _pair(option: str, text: str, left: str, right: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} is not {left}={right}", param_hint=f"'{option}'")
    return name, value


def _task_from_flags(
    *,
    task_id: str,
    command_line: str | None,
    display_name: str | None,
    env: tuple[str, ...],
    resource_files: tuple[str, ...],
    max_wall_clock_time: timedelta | None,
    retention_time: timedelta | None,
    max_task_retry_count: int | None,
    required_slots: int | None,
) -> dict[str, Any]:
    if command_line is None:
        raise click.UsageError("missing option '--command-line' (or give --json-file)")
    task: dict[str, Any] = {"id": task_id, "commandLine": command_line}
    if display_name is not None:
        task["displayName"] = display_name
    if env:
        task["environmentSettings"] = [
            {"name": name, "value": value}
            for name, value in (_pair("--env", item, "NAME", "VALUE") for item in env)
        ]
    if resource_files:
        files = []
        for item in resource_files:
            path, url = _pair("--resource-file", item, "PATH", "URL")
            if not url.startswith(("https://", "http://")):
                raise click.BadParameter(
                    f"{item!r}: the URL must start with https:// (PATH=URL)",
                    param_hint="'--resource-file'",
                )
            files.append({"filePath": path, "httpUrl": url})
        task["resourceFiles"] = files
    constraints: dict[str, Any] = {}
    if max_wall_clock_time is not None:
        constraints["maxWallClockTime"] = format_duration(max_wall_clock_time)
    if retention_time is not None:
        constraints["retentionTime"] = format_duration(retention_time)
    if max_task_retry_count is not None:
        constraints["maxTaskRetryCount"] = max_task_retry_count
    if constraints:
        task["constraints"] = constraints
    if required_slots is not None:
        task["requiredSlots"] = required_slots
    return task


def _tasks_from_file(stream: IO[bytes], name: str) -> list[dict[str, Any]]:
    try:
        data = orjson.loads(stream.read())
    except orjson.JSONDecodeError as error:
        raise click.BadParameter(
            f"{name}: not valid JSON: {error}", param_hint="'--json-file'"
        ) from None
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        where = f"{name}, item {index + 1}" if isinstance(data, list) else name
        if not isinstance(item, dict):
            raise click.BadParameter(
                f"{where}: expected a task (a JSON object), got {type(item).__name__}",
                param_hint="'--json-file'",
            )
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise click.BadParameter(
                f"{where}: the task has no non-empty string 'id'", param_hint="'--json-file'"
            )
    return items


@click.command("create")
@id_arguments("job")
@click.option("--task-id", metavar="ID", help="The new task's id.")
@click.option("--command-line", metavar="CMD", help="The command line the task runs.")
@click.option("--display-name", metavar="NAME", help="A display name for the task.")
@click.option(
    "--env",
    "-e",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    help="An environment variable of the task (repeatable).",
)
@click.option(
    "--resource-file",
    "resource_files",
    multiple=True,
    metavar="PATH=URL",
    help="A file downloaded to PATH on the node from URL before the task runs (repeatable).",
)
@_constraint_options
@click.option("--required-slots", type=click.IntRange(1), help="Scheduling slots the task needs.")
@click.option(
    "--json-file",
    type=click.File("rb"),
    metavar="FILE",
    help="A task in the REST API's JSON (camelCase), or a JSON array of tasks; - for standard "
    "input. Instead of the flags above.",
)
@output_options(default="json", columns=CREATE_COLUMNS)
@connection_options
def create_command(
    *,
    job_id: str,
    json_file: IO[bytes] | None,
    render: Renderer,
    connection: ConnectionSettings,
    **flags: Any,
) -> None:
    """Add one task to JOB from flags, or the task(s) of --json-file.

    An array in --json-file is added with one add-collection request per 100 tasks; for large
    inputs use `batch-tasks submit`, which streams. Prints one result per task; exit status 3
    when some task was refused.
    """
    if json_file is not None:
        clash = [
            "--" + name.replace("_", "-").removesuffix("s")
            if name == "resource_files"
            else "--" + name.replace("_", "-")
            for name, value in flags.items()
            if value not in (None, ())
        ]
        if clash:
            raise click.UsageError(
                f"--json-file describes the task(s) whole: drop {', '.join(clash)}"
            )
        tasks = _tasks_from_file(json_file, json_file.name)
        single = len(tasks) == 1
    else:
        if flags["task_id"] is None:
            raise click.UsageError("missing option '--task-id' (or give --json-file)")
        tasks = [_task_from_flags(**flags)]
        single = True

    async def run() -> int:
        async with open_client(connection) as client:
            if single:
                meta = await client.task.add(job_id, tasks[0])
                click.echo(
                    f"created task {tasks[0]['id']!r} in job {job_id!r} "
                    f"(request-id {meta.request_id})",
                    err=True,
                )
                render.one(
                    {
                        "taskId": tasks[0]["id"],
                        "status": "success",
                        "eTag": meta.e_tag,
                        "lastModified": meta.last_modified,
                        "location": meta.location,
                    }
                )
                return EXIT_OK
            result = await client.task.add_collection(job_id, tasks, raise_on_failure=False)
        results = result.value or []
        render.many_sync(results)
        refused = [r for r in results if r.status != TaskAddStatus.SUCCESS]
        click.echo(f"created {len(results) - len(refused)} of {len(tasks)} task(s)", err=True)
        return EXIT_OK if not refused else EXIT_INCOMPLETE

    run_async(run, secrets=connection.secrets)


# -- list / get -----------------------------------------------------------------------------


def service_select(select: str | None) -> str | None:
    """The ``$select`` sent for ``--select``: the top-level properties (``a/b`` selects ``a``;
    the table shows ``b`` within it)."""
    if not select:
        return None
    names: list[str] = []
    for name in select.split(","):
        top = name.strip().split("/", 1)[0]
        if top and top not in names:
            names.append(top)
    return ",".join(names) or None


@click.command("list")
@id_arguments("job")
@click.option(
    "--filter", "filter_", metavar="ODATA", help="OData $filter, e.g. \"state eq 'completed'\"."
)
@click.option(
    "--select",
    metavar="PROPS",
    help="Comma-separated properties to return ($select); they are the table's columns "
    "(a/b: b within a).",
)
@click.option("--expand", metavar="WHAT", help="Related entities to expand ($expand), e.g. stats.")
@click.option(
    "--max-results",
    type=click.IntRange(1, 1000),
    help="Tasks per page the service returns (maxresults, 1-1000); every page is fetched.",
)
@click.option("--limit", type=click.IntRange(1), help="Stop after this many tasks.")
@output_options(default="table", columns=TASK_COLUMNS, select_columns=True)
@connection_options
def list_command(
    *,
    job_id: str,
    filter_: str | None,
    select: str | None,
    expand: str | None,
    max_results: int | None,
    limit: int | None,
    render: Renderer,
    connection: ConnectionSettings,
) -> None:
    """List the tasks of JOB, following every page; rows are printed as pages arrive."""

    async def run() -> int:
        async with open_client(connection) as client:
            pager = client.task.list(
                job_id,
                filter=filter_,
                select=service_select(select),
                expand=expand,
                max_results=max_results,
            )

            async def items() -> AsyncIterator[CloudTask]:
                count = 0
                async for task in pager:
                    if limit is not None and count >= limit:
                        return
                    count += 1
                    yield task

            count = await render.many(items())
        click.echo(f"{count} task(s)", err=True)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


@click.command("get")
@id_arguments("job", "task")
@click.option(
    "--select",
    metavar="PROPS",
    help="Comma-separated properties to return ($select); a/b names b within a (for tables).",
)
@click.option("--expand", metavar="WHAT", help="Related entities to expand ($expand), e.g. stats.")
@output_options(default="json", columns=TASK_COLUMNS, select_columns=True)
@connection_options
def get_command(
    *,
    job_id: str,
    task_id: str,
    select: str | None,
    expand: str | None,
    render: Renderer,
    connection: ConnectionSettings,
) -> None:
    """Print task TASK of JOB (JSON by default: the service's wire format)."""

    async def run() -> int:
        async with open_client(connection) as client:
            task = await client.task.get(
                job_id, task_id, select=service_select(select), expand=expand
            )
        render.one(task)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


# -- update ---------------------------------------------------------------------------------


def merge_constraints(
    current: TaskConstraints | None,
    *,
    max_wall_clock_time: timedelta | None,
    retention_time: timedelta | None,
    max_task_retry_count: int | None,
) -> TaskConstraints:
    """The task's ``current`` constraints with the given ones replaced, the others kept."""
    base = current or TaskConstraints()
    return TaskConstraints(
        max_wall_clock_time=(
            max_wall_clock_time if max_wall_clock_time is not None else base.max_wall_clock_time
        ),
        retention_time=retention_time if retention_time is not None else base.retention_time,
        max_task_retry_count=(
            max_task_retry_count if max_task_retry_count is not None else base.max_task_retry_count
        ),
    )


@click.command("update")
@id_arguments("job", "task")
@_constraint_options
@click.option(
    "--replace",
    is_flag=True,
    help="Send only the constraints given: the others are reset to the service's defaults "
    "(the REST API's PUT semantics).",
)
@click.option("--if-match", metavar="ETAG", help="Update only if the task still has this ETag.")
@output_options(default="none", columns=ACTION_COLUMNS)
@connection_options
def update_command(
    *,
    job_id: str,
    task_id: str,
    max_wall_clock_time: timedelta | None,
    retention_time: timedelta | None,
    max_task_retry_count: int | None,
    replace: bool,
    if_match: str | None,
    render: Renderer,
    connection: ConnectionSettings,
) -> None:
    """Set constraints of task TASK of JOB, keeping the ones not given.

    The REST API replaces the constraints whole, so the command reads the task, merges the
    options given into its constraints and writes them back only if the task did not change
    in between (a conditional PUT with the ETag it read). With --replace it sends only the
    options given, and the others are reset to their defaults.
    """
    if max_wall_clock_time is None and retention_time is None and max_task_retry_count is None:
        raise click.UsageError(
            "nothing to update: give --max-wall-clock-time, --retention-time or "
            "--max-task-retry-count"
        )

    async def run() -> int:
        async with open_client(connection) as client:
            etag = if_match
            if replace:
                constraints = TaskConstraints(
                    max_wall_clock_time=max_wall_clock_time,
                    retention_time=retention_time,
                    max_task_retry_count=max_task_retry_count,
                )
            else:
                task = await client.task.get(
                    job_id, task_id, select="id,eTag,constraints", if_match=if_match
                )
                etag = if_match or task.e_tag
                if etag is None:
                    raise CommandFailed(
                        f"the service gave no ETag for task {task_id!r}, so the merged "
                        "constraints cannot be written conditionally; pass --if-match ETAG, "
                        "or --replace to send only the options given"
                    )
                constraints = merge_constraints(
                    task.constraints,
                    max_wall_clock_time=max_wall_clock_time,
                    retention_time=retention_time,
                    max_task_retry_count=max_task_retry_count,
                )
            try:
                meta = await client.task.update(
                    job_id, task_id, constraints=constraints, if_match=etag
                )
            except PreconditionFailedError:
                if if_match is not None:
                    raise
                raise CommandFailed(
                    f"task {task_id!r} changed while it was being updated (its ETag is no "
                    "longer the one read); nothing was written: run the command again"
                ) from None
        render.one(_action_result("updated", job_id, task_id, meta))
        return EXIT_OK

    run_async(run, secrets=connection.secrets)


# -- delete / terminate / reactivate --------------------------------------------------------


def _simple_command(name: str, verb: str, summary: str, *, confirm: bool = False) -> click.Command:
    def command(
        *,
        job_id: str,
        task_id: str,
        if_match: str | None,
        render: Renderer,
        connection: ConnectionSettings,
        yes: bool = True,
    ) -> None:
        if not yes:
            click.confirm(f"{name} task {task_id!r} of job {job_id!r}?", abort=True, err=True)

        async def run() -> int:
            async with open_client(connection) as client:
                operation = getattr(client.task, name)
                meta: ResponseMetadata = await operation(job_id, task_id, if_match=if_match)
            render.one(_action_result(verb, job_id, task_id, meta))
            return EXIT_OK

        run_async(run, secrets=connection.secrets)

    decorated: Any = connection_options(command)
    decorated = output_options(default="none", columns=ACTION_COLUMNS)(decorated)
    if confirm:
        decorated = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(
            decorated
        )
    decorated = click.option(
        "--if-match", metavar="ETAG", help="Act only if the task still has this ETag."
    )(decorated)
    decorated = id_arguments("job", "task")(decorated)
    result: click.Command = click.command(name, help=summary)(decorated)
    return result


delete_command = _simple_command(
    "delete",
    "deleted",
    "Delete task TASK of JOB (a running task is terminated first). Asks first unless --yes.",
    confirm=True,
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
@id_arguments("job", "task")
@output_options(default="table", columns=SUBTASK_COLUMNS)
@connection_options
def subtasks_command(
    *, job_id: str, task_id: str, render: Renderer, connection: ConnectionSettings
) -> None:
    """List the subtasks of multi-instance task TASK of JOB."""

    async def run() -> int:
        async with open_client(connection) as client:
            count = await render.many(aiter(client.task.list_subtasks(job_id, task_id)))
        click.echo(f"{count} subtask(s)", err=True)
        return EXIT_OK

    run_async(run, secrets=connection.secrets)
