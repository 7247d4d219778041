"""``client.job``: the one Job operation tasks need, ``GET /jobs/{jobId}/taskcounts``."""

from __future__ import annotations

from datetime import datetime

from . import models
from ._decode import decode_model
from ._operations import _check_timeout, _segment
from ._pipeline import Pipeline, RequestOptions, RetryPolicy

__all__ = ["JobOperations"]


class JobOperations:
    """Job operations, reached as ``client.job``: only what waiting on tasks needs.

    Takes the same per-call keyword options as
    [`TaskOperations`][batch_tasks_async._operations.TaskOperations] (``timeout``,
    ``client_request_id``, ``return_client_request_id``, ``ocp_date``, ``retry_policy``).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def __repr__(self) -> str:
        return f"<JobOperations endpoint={self._pipeline.endpoint!r}>"

    async def get_task_counts(
        self,
        job_id: str,
        *,
        timeout: int | None = None,
        client_request_id: str | None = None,
        return_client_request_id: bool | None = None,
        ocp_date: datetime | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> models.TaskCountsResult:
        """Count a job's tasks by state (``GET /jobs/{jobId}/taskcounts``).

        One small request whatever the size of the job: the cheap way to poll. Tasks in the
        ``preparing`` state are counted as running. The service notes the counts may lag
        behind the tasks' states for a short while; a list query is exact.

        Raises:
            NotFoundError: ``JobNotFound``: the job does not exist (or was deleted).
            ResponseDecodeError: The reply is not a task counts result.
        """
        options = RequestOptions(
            timeout=_check_timeout(timeout),
            client_request_id=client_request_id,
            return_client_request_id=return_client_request_id,
            ocp_date=ocp_date,
        )
        url = self._pipeline.url(
            f"/jobs/{_segment('job_id', job_id)}/taskcounts", {"timeout": options.timeout}
        )
        response = await self._pipeline.send("GET", url, options=options, retry_policy=retry_policy)
        return decode_model(models.TaskCountsResult, response)
