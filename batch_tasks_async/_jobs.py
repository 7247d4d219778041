"""``client.job``: the one Job operation tasks need, ``GET /jobs/{jobId}/taskcounts``."""

from __future__ import annotations

from typing import Unpack

from . import _routes as routes
from . import models
from ._options import CallOptions, RequestOptions
from ._pipeline import Pipeline
from ._response import json_object, structure

__all__ = ["JobOperations"]


class JobOperations:
    """Job operations, reached as ``client.job``: only what waiting on tasks needs.

    Takes the same per-call keyword options as
    [`TaskOperations`][batch_tasks_async._operations.TaskOperations] (the
    `CallOptions`: ``timeout``, ``client_request_id``,
    ``return_client_request_id``, ``ocp_date``, ``retry_policy``).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def __repr__(self) -> str:
        return f"<JobOperations endpoint={self._pipeline.endpoint!r}>"

    async def get_task_counts(
        self, job_id: str, **options: Unpack[CallOptions]
    ) -> models.TaskCountsResult:
        """Count a job's tasks by state (``GET /jobs/{jobId}/taskcounts``).

        One small request whatever the size of the job: the cheap way to poll. Tasks in the
        ``preparing`` state are counted as running. The service notes the counts may lag
        behind the tasks' states for a short while; a list query is exact.

        Raises:
            NotFoundError: ``JobNotFound``: the job does not exist (or was deleted).
            ResponseDecodeError: The reply is not a task counts result.
        """
        request = RequestOptions.from_call(options, conditional=False)
        url = self._pipeline.url(routes.job_task_counts(job_id), {"timeout": request.timeout})
        response = await self._pipeline.send("GET", url, options=request)
        return structure(models.TaskCountsResult, json_object(response), response)
