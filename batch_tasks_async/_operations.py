"""``client.task``: the nine operations of the Batch Task REST API."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Unpack
from urllib.parse import quote

import attrs
import httpx

from . import _routes as routes
from . import models
from ._bulk import (
    BulkOptions,
    BulkOverrides,
    ChunkSender,
    ReadBack,
    TaskAddStream,
    TaskInput,
    TaskReader,
    add_tasks,
    check_mapping,
    judge_read_back,
    stream_tasks,
)
from ._dates import parse_datetime, parse_http_date
from ._options import CallOptions, ConditionalCallOptions, RequestOptions, check_listing
from ._options import check_timeout as _check_timeout
from ._paging import AsyncPager, Page
from ._pipeline import CallState, Pipeline, RetryPolicy, loads
from ._response import (
    Response,
    ResponseMetadata,
    json_object,
    structure,
    structure_list,
    unusable,
)
from ._routes import segment as _segment
from ._serialization import dumps, parse_task_add_results
from ._wait import TaskWaitMixin
from .errors import (
    BatchError,
    ClientValidationError,
    ConflictError,
    NotFoundError,
    ResponseDecodeError,
    ServiceError,
)

__all__ = ["TaskOperations"]


def _joined(name: str, value: str | Sequence[str] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if not isinstance(value, Sequence):
        raise ClientValidationError(
            f"{name} must be a string or a sequence of strings, got {type(value).__name__}"
        )
    items = list(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ClientValidationError(f"{name} must be a string or a sequence of non-empty strings")
    return ",".join(items)


def _task_body(task: models.TaskAddParameter | Mapping[str, Any]) -> tuple[str, bytes]:
    """Serialize a task for ``add`` and return its id and JSON bytes."""
    if isinstance(task, models.TaskAddParameter):
        return task.id, dumps(task)
    if isinstance(task, Mapping):
        task_id = task.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ClientValidationError("a task mapping must have a non-empty string 'id'")
        check_mapping(task)  # the bulk engine's rule: camelCase keys, finite numbers
        return task_id, dumps(task if type(task) is dict else dict(task))
    raise ClientValidationError(
        "task must be a models.TaskAddParameter or a wire-format mapping, "
        f"got {type(task).__name__}"
    )


def _parse_optional_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _task_add_entries(
    response: httpx.Response, client_request_id: str
) -> list[models.TaskAddResult]:
    """The entries of an add-collection answer that can be read (see ``_chunk_sender``)."""

    def unusable(reason: str) -> ResponseDecodeError:
        return ResponseDecodeError(
            response.status_code,
            reason=reason,
            request_id=response.headers.get("request-id"),
            client_request_id=client_request_id,
            headers=dict(response.headers),
            body=response.content,
        )

    try:
        data = loads(response)
    except Exception as exc:  # not JSON, truncated, not UTF-8, empty (a 204/202)
        raise unusable(f"the body is not JSON ({type(exc).__name__})") from None
    values = data.get("value") if isinstance(data, dict) else None
    if not isinstance(values, list):
        raise unusable("the body has no 'value' list")
    try:
        return parse_task_add_results(values)
    except Exception:
        entries: list[models.TaskAddResult] = []
        for item in values:
            # An entry that cannot be read answers nothing: its task counts as left out.
            with contextlib.suppress(Exception):
                entries.extend(parse_task_add_results([item]))
        return entries


@attrs.frozen
class _Done:
    """The error a retry gets when an earlier attempt, whose answer was lost, did the work."""

    status_code: int
    code: str
    success_status: int

    def matches(self, error: ServiceError) -> bool:
        return error.status_code == self.status_code and error.code == self.code


class TaskOperations(TaskWaitMixin):
    """The Task operations, reached as ``client.task``.

    Also ``wait`` and ``watch`` (from [`TaskWaitMixin`][batch_tasks_async._wait.TaskWaitMixin]):
    wait for tasks to complete, with a summary of the failures.

    Every method takes the REST API's options as keyword arguments (typed as the
    ``CallOptions`` and, where the task's state can be a condition, ``ConditionalCallOptions``
    dictionaries, importable from ``batch_tasks_async``):

    - ``timeout``: the longest the *server* may spend on the request, in seconds (the service
      caps it at 30). The client-side network timeout is set on the client.
    - ``client_request_id``: your id for the call (a UUID is made when omitted); it is sent on
      every retry of the call, so the service can tell retries apart from new calls.
    - ``return_client_request_id``: ask the service to echo ``client_request_id``.
    - ``ocp_date``: the time the request was issued (defaults to now).
    - ``if_match`` / ``if_none_match``: an ETag the task must (not) have.
    - ``if_modified_since`` / ``if_unmodified_since``: aware datetimes the task must (not) have
      been modified since.
    - ``retry_policy``: overrides the client's [`RetryPolicy`][batch_tasks_async.RetryPolicy]
      for this call.

    An unknown option or a value of the wrong type raises
    [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError] before anything
    is sent, as does an id that is not a non-empty string or that a URL would resolve as a
    relative segment (``.``, ``..``). Every other id is percent-encoded, so it stays in its
    path segment.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def __repr__(self) -> str:
        return f"<TaskOperations endpoint={self._pipeline.endpoint!r}>"

    async def _call(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        options: RequestOptions,
        retry_policy: RetryPolicy | None,
        state: CallState | None = None,
    ) -> httpx.Response:
        return await self._pipeline.send(
            method, url, content=content, options=options, retry_policy=retry_policy, state=state
        )

    async def add(
        self,
        job_id: str,
        task: models.TaskAddParameter | Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> ResponseMetadata:
        """Add one task to a job (``POST /jobs/{jobId}/tasks``).

        The call is safe to retry: when an attempt's outcome is unknown (a timeout, a dropped
        connection, a 5xx) and a retry is answered ``TaskExists``, the earlier attempt added
        the task, so the call succeeds; the metadata then comes from a follow-up get.

        Args:
            job_id: The job to add the task to.
            task: The task, as a model or as a wire-format (camelCase) mapping.
            **options: The call options (``timeout``, ``client_request_id``, ...).

        Returns:
            The new task's ETag, Last-Modified, Location and request ids.

        Raises:
            ConflictError: ``TaskExists``: a task with this id (compared case-insensitively)
                already exists.
            NotFoundError: ``JobNotFound``.
            ServiceError: Any other refusal, for example ``InvalidPropertyValue``.
        """
        request = RequestOptions.from_call(options, conditional=False)
        retry_policy = request.retry_policy
        task_id, body = _task_body(task)
        url = self._pipeline.url(routes.tasks(job_id), {"timeout": request.timeout})
        state = CallState(client_request_id=request.client_request_id or str(uuid.uuid4()))
        first_sent = datetime.now(UTC)
        try:
            response = await self._call(
                "POST", url, content=body, options=request, retry_policy=None, state=state
            )
        except ConflictError as error:
            if error.code != "TaskExists" or not state.ambiguous:
                raise
            # An earlier attempt's answer was lost: read the task back, and count it as added
            # by this call only if it was created after that attempt and holds what was sent.
            read = self._task_reader(job_id, retry_policy=retry_policy)
            try:
                found = await read(task_id)
            except BatchError:
                raise error from None
            if not judge_read_back(body, first_sent, found) or found is None:
                raise
            task_url = f"{self._pipeline.endpoint}/jobs/{quote(job_id, safe='')}/tasks/" + quote(
                task_id, safe=""
            )
            return ResponseMetadata(
                status_code=201,
                e_tag=found.fields.get("eTag"),
                last_modified=_parse_optional_datetime(found.fields.get("lastModified")),
                request_id=error.request_id,
                client_request_id=state.client_request_id,
                data_service_id=task_url,
                location=task_url,
                recovered=True,
            )
        return ResponseMetadata.from_response(response, state.client_request_id)

    async def get(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        **options: Unpack[ConditionalCallOptions],
    ) -> models.CloudTask:
        """Get a task (``GET /jobs/{jobId}/tasks/{taskId}``).

        To have the response's headers as well (the ETag even under ``select=``,
        Last-Modified, the request id), use ``get_with_response``.

        Args:
            select: Properties to return (``$select``), e.g. ``["id", "state"]``.
            expand: Related entities to expand (``$expand``), e.g. ``"stats"``.
            **options: The call options, conditions included (``if_none_match``, ...).

        Raises:
            NotFoundError: ``TaskNotFound`` or ``JobNotFound``.
            NotModifiedError: ``if_none_match`` / ``if_modified_since`` found no change.
            PreconditionFailedError: ``if_match`` / ``if_unmodified_since`` not met.
            ResponseDecodeError: The reply is not a task the SDK can read.
        """
        found = await self.get_with_response(
            job_id, task_id, select=select, expand=expand, **options
        )
        return found.value

    async def get_with_response(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        **options: Unpack[ConditionalCallOptions],
    ) -> Response[models.CloudTask]:
        """Get a task with its response metadata, from one request.

        Takes what [`get`][batch_tasks_async._operations.TaskOperations.get] takes. The
        result's ``value`` is the task; ``e_tag``, ``last_modified``, ``request_id`` and
        ``headers`` come from the response, so a conditional update works even when
        ``select=`` left the task's ``eTag`` property out.

        For example:

            found = await client.task.get_with_response(job_id, "t1", select=["id", "state"])
            await client.task.update(job_id, "t1", constraints=c, if_match=found.e_tag)
        """
        request = RequestOptions.from_call(options, conditional=True)
        url = self._pipeline.url(
            routes.task(job_id, task_id),
            {
                "$select": _joined("select", select),
                "$expand": _joined("expand", expand),
                "timeout": request.timeout,
            },
        )
        response = await self._call("GET", url, content=None, options=request, retry_policy=None)
        task = structure(models.CloudTask, json_object(response), response)
        return Response(value=task, metadata=ResponseMetadata.from_response(response))

    def list(
        self,
        job_id: str,
        *,
        filter: str | None = None,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        max_results: int | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[models.CloudTask]:
        """List a job's tasks (``GET /jobs/{jobId}/tasks``); returns a pager at once.

        Each page (``pager.pages()``) carries its response's metadata and headers.

        Args:
            filter: An OData ``$filter``, e.g. ``"state eq 'completed'"``.
            select: Properties to return (``$select``).
            expand: Related entities to expand (``$expand``), e.g. ``"stats"``.
            max_results: Most tasks per page (``maxresults``, 1 to 1000; the service's default
                is 1000).
            **options: The call options, used for every page.

        For example:

            async for task in client.task.list(job_id, filter="state eq 'completed'"):
                print(task.id, task.execution_info.exit_code)
        """
        check_listing(max_results, filter)
        request = RequestOptions.from_call(options, conditional=False)
        first = self._pipeline.url(
            routes.tasks(job_id),
            {
                "$filter": filter,
                "$select": _joined("select", select),
                "$expand": _joined("expand", expand),
                "maxresults": max_results,
                "timeout": request.timeout,
            },
        )
        return AsyncPager(self._page_fetcher(first, models.CloudTask, request))

    def list_subtasks(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | Sequence[str] | None = None,
        **options: Unpack[CallOptions],
    ) -> AsyncPager[models.SubtaskInformation]:
        """List the subtasks of a multi-instance task (``GET .../subtasksinfo``).

        Tasks that are not multi-instance have none. Returns a pager at once.
        """
        request = RequestOptions.from_call(options, conditional=False)
        first = self._pipeline.url(
            routes.subtasks(job_id, task_id),
            {"$select": _joined("select", select), "timeout": request.timeout},
        )
        return AsyncPager(self._page_fetcher(first, models.SubtaskInformation, request))

    def _page_fetcher(self, first_url: str, item_type: type[Any], options: RequestOptions) -> Any:
        pipeline = self._pipeline

        async def fetch(link: str | None) -> Page[Any]:
            if link is None:
                url = first_url
            else:
                pipeline.check_same_origin(link)
                url = link
            response = await pipeline.send("GET", url, options=options)
            data = json_object(response)
            next_link = data.get("odata.nextLink")
            if next_link is not None and not isinstance(next_link, str):
                raise unusable(response, "'odata.nextLink' is not a string")
            raw_items = data.get("value")
            if raw_items is None:  # a page may leave out an empty 'value'
                raw_items = []
            metadata = ResponseMetadata.from_response(response)
            return Page(
                items=structure_list(item_type, raw_items, response),
                next_link=next_link or None,
                request_id=metadata.request_id,
                metadata=metadata,
            )

        return fetch

    async def update(
        self,
        job_id: str,
        task_id: str,
        parameter: models.TaskUpdateParameter | None = None,
        *,
        constraints: models.TaskConstraints | None = None,
        **options: Unpack[ConditionalCallOptions],
    ) -> ResponseMetadata:
        """Update a task's properties (``PUT /jobs/{jobId}/tasks/{taskId}``).

        Pass either a [`TaskUpdateParameter`][batch_tasks_async.models.TaskUpdateParameter]
        or its fields (``constraints=``). The task's constraints are *replaced*: an omitted
        constraints object resets them to their defaults, as the service documents.

        For example:

            found = await client.task.get_with_response(job_id, "t1")
            await client.task.update(
                job_id, "t1",
                constraints=models.TaskConstraints(max_task_retry_count=3),
                if_match=found.e_tag,
            )
        """
        if parameter is not None and constraints is not None:
            raise ClientValidationError("pass either parameter or constraints=, not both")
        if parameter is None:
            if constraints is not None and not isinstance(constraints, models.TaskConstraints):
                raise ClientValidationError(
                    "constraints must be a models.TaskConstraints, got "
                    f"{type(constraints).__name__}; for example "
                    "models.TaskConstraints(max_task_retry_count=3)"
                )
            parameter = models.TaskUpdateParameter(constraints=constraints)
        elif not isinstance(parameter, models.TaskUpdateParameter):
            raise ClientValidationError(
                f"parameter must be a models.TaskUpdateParameter, got {type(parameter).__name__}"
            )
        return await self._no_body(
            "PUT",
            routes.task(job_id, task_id),
            dumps(parameter),
            None,
            RequestOptions.from_call(options, conditional=True),
        )

    async def delete(
        self, job_id: str, task_id: str, **options: Unpack[ConditionalCallOptions]
    ) -> ResponseMetadata:
        """Delete a task (``DELETE /jobs/{jobId}/tasks/{taskId}``).

        A running task is terminated first. Multi-instance subtasks and the task's files on
        the node are deleted with it.
        """
        return await self._no_body(
            "DELETE",
            routes.task(job_id, task_id),
            None,
            _Done(404, "TaskNotFound", 200),
            RequestOptions.from_call(options, conditional=True),
        )

    async def terminate(
        self, job_id: str, task_id: str, **options: Unpack[ConditionalCallOptions]
    ) -> ResponseMetadata:
        """Terminate a task (``POST .../terminate``): it moves to ``completed``.

        Raises:
            ConflictError: e.g. ``TaskCompleted`` when the task has already completed.
        """
        return await self._no_body(
            "POST",
            routes.terminate_task(job_id, task_id),
            None,
            _Done(409, "TaskCompleted", 204),
            RequestOptions.from_call(options, conditional=True),
        )

    async def reactivate(
        self, job_id: str, task_id: str, **options: Unpack[ConditionalCallOptions]
    ) -> ResponseMetadata:
        """Reactivate a failed task (``POST .../reactivate``): it becomes ``active`` again.

        Reactivation makes the task eligible to be retried again up to its maximum retry
        count, and resets its retry count. It fails for tasks that are not completed or that
        completed successfully (exit code 0), and when the job has completed or is terminating
        or being deleted.

        Raises:
            ConflictError: the service refused in the task's or job's current state.
        """
        return await self._no_body(
            "POST",
            routes.reactivate_task(job_id, task_id),
            None,
            None,
            RequestOptions.from_call(options, conditional=True),
        )

    async def add_collection(
        self,
        job_id: str,
        tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
        *,
        options: BulkOptions | None = None,
        timeout: int | None = None,
        return_client_request_id: bool | None = None,
        **overrides: Unpack[BulkOverrides],
    ) -> models.TaskAddCollectionResult:
        """Add any number of tasks to a job (``POST /jobs/{jobId}/addtaskcollection``).

        The tasks are read lazily, serialized once each, packed into requests of at most
        ``max_tasks_per_request`` tasks and ``max_request_bytes`` bytes, and sent
        ``concurrency`` requests at a time. Only the tasks whose outcome is not settled are
        sent again, with the same ids, so a task is never added twice and never reported added
        unless this run added it. See the bulk submission guide in the docs.

        Args:
            job_id: The job to add the tasks to.
            tasks: An iterable or async iterable of
                [`TaskAddParameter`][batch_tasks_async.models.TaskAddParameter] or wire-format
                mappings (camelCase keys, e.g. a parsed JSON Lines record), read lazily.
            options: A [`BulkOptions`][batch_tasks_async.BulkOptions]; any of its fields may
                also be given as a keyword (``concurrency=8``), which overrides it.
            timeout: Server-side timeout of each request, in seconds.
            return_client_request_id: Ask the service to echo each request's id.

        Returns:
            One [`TaskAddResult`][batch_tasks_async.models.TaskAddResult] per task read, in
            input order (with ``return_results=False``: the failed and unconfirmed ones only).
            An unconfirmed task's entry is a ``servererror`` with code ``TaskNotConfirmed``.

        Raises:
            CreateTasksError: Some task was not added; it carries the failed results and their
                tasks, the tasks never confirmed (with the reason, whether they may exist, and
                the task as given), the request errors, and the full result.
            ClientValidationError: An option is invalid (before anything is sent).
        """
        bulk = BulkOptions.build(options, overrides)
        return await add_tasks(
            self._chunk_sender(
                job_id, timeout=timeout, return_client_request_id=return_client_request_id
            ),
            tasks,
            bulk,
            read_back=self._task_reader(job_id, retry_policy=None),
        )

    def stream_add_collection(
        self,
        job_id: str,
        tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
        *,
        options: BulkOptions | None = None,
        timeout: int | None = None,
        return_client_request_id: bool | None = None,
        **overrides: Unpack[BulkOverrides],
    ) -> TaskAddStream:
        """Add tasks in bulk, yielding one result per task as each becomes final.

        Takes the options of ``add_collection`` (``return_results`` does not apply: the
        stream yields every result). Memory stays
        bounded by the concurrency window, whatever the number of tasks, so a generator of
        millions of tasks streams through in constant memory. Use it as ``async with ... as
        stream: async for result in stream`` (requests keep flowing while your loop body runs)
        or directly in ``async for``. Every yielded result is final; after an early exit, a
        cancellation or an error, ``stream.pending_results`` and ``stream.unconfirmed`` account
        for every other task read.

        Example:

            async with client.task.stream_add_collection("job-1", tasks) as stream:
                async for result in stream:
                    if result.status is not models.TaskAddStatus.SUCCESS:
                        print(result.task_id, result.error.code)
        """
        bulk = BulkOptions.build(options, overrides)
        return stream_tasks(
            self._chunk_sender(
                job_id, timeout=timeout, return_client_request_id=return_client_request_id
            ),
            tasks,
            bulk,
            read_back=self._task_reader(job_id, retry_policy=None),
        )

    def _chunk_sender(
        self,
        job_id: str,
        *,
        timeout: int | None = None,
        return_client_request_id: bool | None = None,
    ) -> ChunkSender:
        """The "send one add-collection request" callable the bulk engine drives.

        It sends a prepared ``{"value": [...]}`` body once, with the HTTP layer's retries off
        (the engine owns every retry of bulk submission), and returns the entries it can read,
        in the order the service gave them. A 2xx answer it cannot use at all (not JSON, no
        ``value`` list, a body that is not UTF-8) raises
        [`ResponseDecodeError`][batch_tasks_async.errors.ResponseDecodeError]; an entry it
        cannot read is left out (the engine treats its task as unanswered).
        """
        pipeline = self._pipeline
        url = pipeline.url(
            f"/jobs/{_segment('job_id', job_id)}/addtaskcollection",
            {"timeout": _check_timeout(timeout)},
        )
        no_retries = RetryPolicy.disabled()

        async def send(body: bytes, *, client_request_id: str) -> list[models.TaskAddResult]:
            response = await pipeline.send(
                "POST",
                url,
                content=body,
                options=RequestOptions(
                    timeout=timeout,
                    client_request_id=client_request_id,
                    return_client_request_id=return_client_request_id,
                ),
                retry_policy=no_retries,
            )
            return _task_add_entries(response, client_request_id)

        return send

    def _task_reader(self, job_id: str, *, retry_policy: RetryPolicy | None) -> TaskReader:
        """Reads one task back, to verify a ``TaskExists`` after an ambiguous attempt."""
        pipeline = self._pipeline
        job = _segment("job_id", job_id)

        async def read(task_id: str) -> ReadBack | None:
            url = pipeline.url(f"/jobs/{job}/tasks/{_segment('task_id', task_id)}", {})
            try:
                response = await pipeline.send(
                    "GET", url, content=None, options=RequestOptions(), retry_policy=retry_policy
                )
            except NotFoundError:
                return None
            received_at = datetime.now(UTC)
            try:
                fields = loads(response)
                created = parse_datetime(fields["creationTime"])
            except Exception as exc:
                raise ResponseDecodeError(
                    response.status_code,
                    reason=f"the task read back has no readable creationTime ({exc!r})",
                    request_id=response.headers.get("request-id"),
                    headers=dict(response.headers),
                    body=response.content,
                ) from None
            return ReadBack(
                creation_time=created,
                fields=fields,
                service_date=parse_http_date(response.headers.get("date")),
                received_at=received_at,
            )

        return read

    async def _no_body(
        self,
        method: str,
        path: str,
        content: bytes | None,
        done: _Done | None,
        options: RequestOptions,
    ) -> ResponseMetadata:
        url = self._pipeline.url(path, {"timeout": options.timeout})
        state = CallState(client_request_id=options.client_request_id or str(uuid.uuid4()))
        try:
            response = await self._call(
                method, url, content=content, options=options, retry_policy=None, state=state
            )
        except ServiceError as error:
            if done is None or not state.ambiguous or not done.matches(error):
                raise
            # An earlier attempt of this call, whose answer was lost, already did the work.
            return ResponseMetadata(
                status_code=done.success_status,
                request_id=error.request_id,
                client_request_id=state.client_request_id,
                recovered=True,
            )
        return ResponseMetadata.from_response(response, state.client_request_id)
