"""``client.task``: the nine operations of the Batch Task REST API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import attrs
import httpx

from . import models
from ._bulk import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PROGRESS_INTERVAL,
    MAX_TASKS_PER_REQUEST,
    BulkRetryPolicy,
    ChunkSender,
    ProgressCallback,
    TaskAddStream,
    TaskInput,
    add_tasks,
    stream_tasks,
)
from ._paging import AsyncPager, Page
from ._pipeline import CallState, Pipeline, RequestOptions, RetryPolicy, loads
from ._response import ResponseMetadata
from ._serialization import dumps, from_wire, parse_task_add_results
from ._wait import TaskWaitMixin
from .errors import ClientValidationError, ConflictError, ServiceError

__all__ = ["TaskOperations"]


def _segment(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ClientValidationError(f"{name} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _joined(name: str, value: str | Sequence[str] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    items = list(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ClientValidationError(f"{name} must be a string or a sequence of non-empty strings")
    return ",".join(items)


def _check_timeout(timeout: int | None) -> int | None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1
    ):
        raise ClientValidationError(
            f"timeout is the server-side limit in whole seconds (>= 1), got {timeout!r}"
        )
    return timeout


def _task_body(task: models.TaskAddParameter | Mapping[str, Any]) -> tuple[str, bytes]:
    """Serialize a task for ``add`` and return its id and JSON bytes."""
    if isinstance(task, models.TaskAddParameter):
        return task.id, dumps(task)
    if isinstance(task, Mapping):
        task_id = task.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ClientValidationError("a task mapping must have a non-empty string 'id'")
        return task_id, dumps(task if type(task) is dict else dict(task))
    raise ClientValidationError(
        "task must be a models.TaskAddParameter or a wire-format mapping, "
        f"got {type(task).__name__}"
    )


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

    Every method takes the REST API's options as keyword arguments:

    - ``timeout``: the longest the *server* may spend on the request, in seconds (the service
      caps it at 30). The client-side network timeout is set on the client.
    - ``client_request_id``: your id for the call (a UUID is made when omitted); it is sent on
      every retry of the call, so the service can tell retries apart from new calls.
    - ``return_client_request_id``: ask the service to echo ``client_request_id``.
    - ``ocp_date``: the time the request was issued (defaults to now).
    - ``if_match`` / ``if_none_match``: an ETag the task must (not) have.
    - ``if_modified_since`` / ``if_unmodified_since``: aware datetimes the task must (not) have
      been modified since.
    - ``retry_policy``: overrides the client's :class:`RetryPolicy` for this call.
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
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> ResponseMetadata:
        """Add one task to a job (``POST /jobs/{jobId}/tasks``).

        The call is safe to retry: when an attempt's outcome is unknown (a timeout, a dropped
        connection, a 5xx) and a retry is answered ``TaskExists``, the earlier attempt added
        the task, so the call succeeds; the metadata then comes from a follow-up get.

        Args:
            job_id: The job to add the task to.
            task: The task, as a model or as a wire-format (camelCase) mapping.

        Returns:
            The new task's ETag, Last-Modified, Location and request ids.

        Raises:
            ConflictError: ``TaskExists``: a task with this id (compared case-insensitively)
                already exists.
            NotFoundError: ``JobNotFound``.
            ServiceError: Any other refusal, for example ``InvalidPropertyValue``.
        """
        task_id, body = _task_body(task)
        options = RequestOptions(
            timeout=_check_timeout(timeout),
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
        )
        url = self._pipeline.url(
            f"/jobs/{_segment('job_id', job_id)}/tasks", {"timeout": options.timeout}
        )
        state = CallState(client_request_id=client_request_id or str(uuid.uuid4()))
        try:
            response = await self._call(
                "POST", url, content=body, options=options, retry_policy=retry_policy, state=state
            )
        except ConflictError as error:
            if error.code != "TaskExists" or not state.ambiguous:
                raise
            # An earlier attempt of this very call added the task.
            task_url = f"{self._pipeline.endpoint}/jobs/{quote(job_id, safe='')}/tasks/" + quote(
                task_id, safe=""
            )
            check = await self._call(
                "GET",
                self._pipeline.url(
                    f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}",
                    {"$select": "id"},
                ),
                content=None,
                options=RequestOptions(client_request_id=state.client_request_id),
                retry_policy=retry_policy,
            )
            found = ResponseMetadata.from_response(check, state.client_request_id)
            return attrs.evolve(
                found,
                status_code=201,
                data_service_id=found.data_service_id or task_url,
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
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> models.CloudTask:
        """Get a task (``GET /jobs/{jobId}/tasks/{taskId}``).

        Args:
            select: Properties to return (``$select``), e.g. ``["id", "state"]``.
            expand: Related entities to expand (``$expand``), e.g. ``"stats"``.

        Raises:
            NotFoundError: ``TaskNotFound`` or ``JobNotFound``.
            NotModifiedError: ``if_none_match`` / ``if_modified_since`` found no change.
            PreconditionFailedError: ``if_match`` / ``if_unmodified_since`` not met.
        """
        options = RequestOptions(
            timeout=_check_timeout(timeout),
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        )
        url = self._pipeline.url(
            f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}",
            {
                "$select": _joined("select", select),
                "$expand": _joined("expand", expand),
                "timeout": options.timeout,
            },
        )
        response = await self._call(
            "GET", url, content=None, options=options, retry_policy=retry_policy
        )
        return from_wire(models.CloudTask, loads(response))

    def list(
        self,
        job_id: str,
        *,
        filter: str | None = None,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        max_results: int | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> AsyncPager[models.CloudTask]:
        """List a job's tasks (``GET /jobs/{jobId}/tasks``); returns a pager at once.

        Args:
            filter: An OData ``$filter``, e.g. ``"state eq 'completed'"``.
            select: Properties to return (``$select``).
            expand: Related entities to expand (``$expand``), e.g. ``"stats"``.
            max_results: Most tasks per page (``maxresults``, 1 to 1000; the service's default
                is 1000).

        Example::

            async for task in client.task.list(job_id, filter="state eq 'completed'"):
                print(task.id, task.execution_info.exit_code)
        """
        if max_results is not None and (
            isinstance(max_results, bool)
            or not isinstance(max_results, int)
            or not 1 <= max_results <= 1000
        ):
            raise ClientValidationError(f"max_results must be from 1 to 1000, got {max_results!r}")
        options = RequestOptions(
            timeout=_check_timeout(timeout),
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
        )
        first = self._pipeline.url(
            f"/jobs/{_segment('job_id', job_id)}/tasks",
            {
                "$filter": filter,
                "$select": _joined("select", select),
                "$expand": _joined("expand", expand),
                "maxresults": max_results,
                "timeout": options.timeout,
            },
        )
        return AsyncPager(self._page_fetcher(first, models.CloudTask, options, retry_policy))

    def list_subtasks(
        self,
        job_id: str,
        task_id: str,
        *,
        select: str | Sequence[str] | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> AsyncPager[models.SubtaskInformation]:
        """List the subtasks of a multi-instance task (``GET .../subtasksinfo``).

        Tasks that are not multi-instance have none. Returns a pager at once.
        """
        options = RequestOptions(
            timeout=_check_timeout(timeout),
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
        )
        first = self._pipeline.url(
            f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}/subtasksinfo",
            {"$select": _joined("select", select), "timeout": options.timeout},
        )
        return AsyncPager(
            self._page_fetcher(first, models.SubtaskInformation, options, retry_policy)
        )

    def _page_fetcher(
        self,
        first_url: str,
        item_type: type[Any],
        options: RequestOptions,
        retry_policy: RetryPolicy | None,
    ) -> Any:
        pipeline = self._pipeline

        async def fetch(link: str | None) -> Page[Any]:
            if link is None:
                url = first_url
            else:
                pipeline.check_same_origin(link)
                url = link
            response = await pipeline.send("GET", url, options=options, retry_policy=retry_policy)
            data = loads(response)
            if not isinstance(data, dict):
                raise ClientValidationError(
                    f"the service returned a list page that is not a JSON object "
                    f"(request-id {response.headers.get('request-id')})"
                )
            raw_items = data.get("value") or []
            next_link = data.get("odata.nextLink")
            return Page(
                items=[from_wire(item_type, item) for item in raw_items],
                next_link=next_link if isinstance(next_link, str) and next_link else None,
                request_id=response.headers.get("request-id"),
            )

        return fetch

    async def update(
        self,
        job_id: str,
        task_id: str,
        parameter: models.TaskUpdateParameter | None = None,
        *,
        constraints: models.TaskConstraints | None = None,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> ResponseMetadata:
        """Update a task's properties (``PUT /jobs/{jobId}/tasks/{taskId}``).

        Pass either a :class:`~batch_tasks_async.models.TaskUpdateParameter` or its fields
        (``constraints=``). The task's constraints are *replaced*: an omitted constraints
        object resets them to their defaults, as the service documents.

        Example::

            task = await client.task.get(job_id, "t1")
            await client.task.update(
                job_id, "t1",
                constraints=models.TaskConstraints(max_task_retry_count=3),
                if_match=task.e_tag,
            )
        """
        if parameter is not None and constraints is not None:
            raise ClientValidationError("pass either parameter or constraints=, not both")
        if parameter is None:
            parameter = models.TaskUpdateParameter(constraints=constraints)
        elif not isinstance(parameter, models.TaskUpdateParameter):
            raise ClientValidationError(
                f"parameter must be a models.TaskUpdateParameter, got {type(parameter).__name__}"
            )
        return await self._no_body(
            "PUT",
            f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}",
            dumps(parameter),
            None,
            RequestOptions(
                timeout=_check_timeout(timeout),
                client_request_id=client_request_id,
                return_client_request_id=return_client_request_id,
                ocp_date=ocp_date,
                if_match=if_match,
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                if_unmodified_since=if_unmodified_since,
            ),
            retry_policy,
        )

    async def delete(
        self,
        job_id: str,
        task_id: str,
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> ResponseMetadata:
        """Delete a task (``DELETE /jobs/{jobId}/tasks/{taskId}``).

        A running task is terminated first. Multi-instance subtasks and the task's files on
        the node are deleted with it.
        """
        return await self._no_body(
            "DELETE",
            f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}",
            None,
            _Done(404, "TaskNotFound", 200),
            RequestOptions(
                timeout=_check_timeout(timeout),
                client_request_id=client_request_id,
                return_client_request_id=return_client_request_id,
                ocp_date=ocp_date,
                if_match=if_match,
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                if_unmodified_since=if_unmodified_since,
            ),
            retry_policy,
        )

    async def terminate(
        self,
        job_id: str,
        task_id: str,
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> ResponseMetadata:
        """Terminate a task (``POST .../terminate``): it moves to ``completed``.

        Raises:
            ConflictError: e.g. ``TaskCompleted`` when the task has already completed.
        """
        return await self._no_body(
            "POST",
            f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}/terminate",
            None,
            _Done(409, "TaskCompleted", 204),
            RequestOptions(
                timeout=_check_timeout(timeout),
                client_request_id=client_request_id,
                return_client_request_id=return_client_request_id,
                ocp_date=ocp_date,
                if_match=if_match,
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                if_unmodified_since=if_unmodified_since,
            ),
            retry_policy,
        )

    async def reactivate(
        self,
        job_id: str,
        task_id: str,
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
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
            f"/jobs/{_segment('job_id', job_id)}/tasks/{_segment('task_id', task_id)}/reactivate",
            None,
            None,
            RequestOptions(
                timeout=_check_timeout(timeout),
                client_request_id=client_request_id,
                return_client_request_id=return_client_request_id,
                ocp_date=ocp_date,
                if_match=if_match,
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                if_unmodified_since=if_unmodified_since,
            ),
            retry_policy,
        )

    async def add_collection(
        self,
        job_id: str,
        tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_tasks_per_request: int = MAX_TASKS_PER_REQUEST,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        retry_policy: BulkRetryPolicy | None = None,
        deadline: float | timedelta | None = None,
        if_exists: Literal["fail", "skip"] = "fail",
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        timeout: int | None = None,
        return_client_request_id: bool | None = None,
    ) -> models.TaskAddCollectionResult:
        """Add any number of tasks to a job (``POST /jobs/{jobId}/addtaskcollection``).

        The tasks are read lazily, serialized once each, packed into requests of at most
        ``max_tasks_per_request`` tasks and ``max_request_bytes`` bytes, and sent
        ``concurrency`` requests at a time. Only the tasks that failed are retried, with the
        same ids, so every retry is idempotent: a task is never added twice and never reported
        added unless the service holds it. See the bulk submission guide in the docs.

        Args:
            job_id: The job to add the tasks to.
            tasks: An iterable or async iterable of
                :class:`~batch_tasks_async.models.TaskAddParameter` or wire-format mappings
                (camelCase keys, e.g. a parsed JSON Lines record), read lazily.
            concurrency: Most requests in flight. Lowered while the service throttles and
                raised again when it stops, never above this value.
            max_tasks_per_request: Most tasks in one request (1 to 100).
            max_request_bytes: Largest request body (default 1 MiB, the service's limit;
                at most 4 MiB). A task that cannot fit fails alone with
                ``RequestBodyTooLarge``.
            retry_policy: Attempts and backoff of the bulk layer (:class:`BulkRetryPolicy`).
            deadline: Seconds (or a timedelta) the whole run may take.
            if_exists: ``"fail"`` (a task that existed before it was sent is a
                ``clienterror`` ``TaskExists``) or ``"skip"`` (it counts as added, so a re-run
                of a pipeline with the same ids is safe).
            on_progress: Called with a :class:`BulkProgress` every ``progress_interval``
                seconds and once at the end.
            raise_on_failure: Raise :class:`~batch_tasks_async.errors.CreateTasksError`
                when any task was not added (default); when false, return the result.
            progress_interval: Seconds between progress reports.
            timeout: Server-side timeout of each request, in seconds.
            return_client_request_id: Ask the service to echo each request's id.

        Returns:
            One :class:`~batch_tasks_async.models.TaskAddResult` per task, in input order.

        Raises:
            CreateTasksError: Some task was not added; it carries the failed results, the
                tasks never confirmed (with the reason, and whether they may exist), the
                request errors, and the full result.
            ClientValidationError: An option is invalid.
        """
        return await add_tasks(
            self._chunk_sender(
                job_id, timeout=timeout, return_client_request_id=return_client_request_id
            ),
            tasks,
            concurrency=concurrency,
            max_tasks_per_request=max_tasks_per_request,
            max_request_bytes=max_request_bytes,
            retry_policy=retry_policy,
            deadline=deadline,
            if_exists=if_exists,
            on_progress=on_progress,
            raise_on_failure=raise_on_failure,
            progress_interval=progress_interval,
        )

    def stream_add_collection(
        self,
        job_id: str,
        tasks: Iterable[TaskInput] | AsyncIterable[TaskInput],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_tasks_per_request: int = MAX_TASKS_PER_REQUEST,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        retry_policy: BulkRetryPolicy | None = None,
        deadline: float | timedelta | None = None,
        if_exists: Literal["fail", "skip"] = "fail",
        on_progress: ProgressCallback | None = None,
        raise_on_failure: bool = True,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        timeout: int | None = None,
        return_client_request_id: bool | None = None,
    ) -> TaskAddStream:
        """Add tasks in bulk, yielding one result per task as each becomes final.

        Takes the options of :meth:`add_collection`. Memory stays bounded by the
        concurrency window, whatever the number of tasks, so a generator of millions of tasks
        streams through in constant memory. Use it as ``async with ... as stream: async for
        result in stream`` (requests keep flowing while your loop body runs) or directly in
        ``async for``. Every yielded result is final; after an early exit, a cancellation or
        an error, ``stream.pending_results`` and ``stream.unconfirmed`` account for every
        other task read.

        Example::

            async with client.task.stream_add_collection("job-1", tasks) as stream:
                async for result in stream:
                    if result.status is not models.TaskAddStatus.SUCCESS:
                        print(result.task_id, result.error.code)
        """
        return stream_tasks(
            self._chunk_sender(
                job_id, timeout=timeout, return_client_request_id=return_client_request_id
            ),
            tasks,
            concurrency=concurrency,
            max_tasks_per_request=max_tasks_per_request,
            max_request_bytes=max_request_bytes,
            retry_policy=retry_policy,
            deadline=deadline,
            if_exists=if_exists,
            on_progress=on_progress,
            raise_on_failure=raise_on_failure,
            progress_interval=progress_interval,
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
        (the engine owns every retry of bulk submission), and returns the per-task results in
        the order the service gave them.
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
            data = loads(response)
            values = data.get("value") if isinstance(data, dict) else None
            if not isinstance(values, list):
                raise ClientValidationError(
                    "the service answered add collection without a 'value' list "
                    f"(request-id {response.headers.get('request-id')})"
                )
            return parse_task_add_results(values)

        return send

    async def _no_body(
        self,
        method: str,
        path: str,
        content: bytes | None,
        done: _Done | None,
        options: RequestOptions,
        retry_policy: RetryPolicy | None,
    ) -> ResponseMetadata:
        url = self._pipeline.url(path, {"timeout": options.timeout})
        state = CallState(client_request_id=options.client_request_id or str(uuid.uuid4()))
        try:
            response = await self._call(
                method,
                url,
                content=content,
                options=options,
                retry_policy=retry_policy,
                state=state,
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
