"""The per-request context handed to handlers, and the lookups every handler shares."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request

from ._errors import EmulatorHTTPError
from ._state import JobRecord, Store, TaskRecord

__all__ = ["NOT_AN_OBJECT", "RequestContext", "base_url_of"]

NOT_AN_OBJECT = "The request body must be a JSON object."


def base_url_of(request: Request) -> str:
    """``scheme://host`` the client used, for ``url``, ``odata.metadata`` and next links."""
    scope = request.scope
    host = request.headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


class RequestContext:
    """One request: the starlette request, its operation name and id, and the store."""

    __slots__ = ("base_url", "faults_on", "op", "path_params", "query", "request", "request_id")

    def __init__(self, request: Request, op: str, faults_on: bool) -> None:
        self.request = request
        self.op = op
        self.faults_on = faults_on
        self.request_id = str(uuid.uuid4())
        self.base_url = base_url_of(request)
        self.path_params: dict[str, str] = request.path_params
        self.query: QueryParams = request.query_params

    @staticmethod
    def error(
        status: int,
        code: str,
        *,
        message: str | None = None,
        values: tuple[tuple[str, str], ...] = (),
        headers: Mapping[str, str] | None = None,
    ) -> EmulatorHTTPError:
        """The exception that answers with a Batch error body."""
        return EmulatorHTTPError(status, code, message=message, values=values, headers=headers)

    async def read_json(self, limit: int) -> Any:
        """The request body parsed as JSON; 413 past ``limit`` bytes, 400 if empty or not JSON."""
        request = self.request
        declared = request.headers.get("content-length")
        too_large = False
        if declared is not None and declared.isdigit() and int(declared) > limit:
            too_large = True
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                too_large = True
                chunks.clear()
            elif not too_large:
                chunks.append(chunk)
        if too_large:
            raise self.error(413, "RequestBodyTooLarge", values=(("MaxLimit", str(limit)),))
        data = b"".join(chunks)
        if not data:
            raise self.error(400, "InvalidRequestBody", message="The request body is empty.")
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise self.error(
                400,
                "InvalidRequestBody",
                values=(("Reason", f"The request body is not valid JSON: {exc}"),),
            ) from None

    async def read_object(self, limit: int) -> dict[str, Any]:
        """The request body, which must be a JSON object."""
        body = await self.read_json(limit)
        if not isinstance(body, dict):
            raise self.error(400, "InvalidRequestBody", message=NOT_AN_OBJECT)
        return body

    def job_or_404(self, store: Store) -> JobRecord:
        """The job named in the path, or 404 ``JobNotFound``."""
        job = store.get_job(self.path_params["job_id"])
        if job is None:
            raise self.error(404, "JobNotFound")
        return job

    def task_or_404(self, store: Store) -> tuple[JobRecord, TaskRecord]:
        """The job and task named in the path, or 404 ``JobNotFound`` / ``TaskNotFound``."""
        job = self.job_or_404(store)
        task = job.tasks.get(self.path_params["task_id"].lower())
        if task is None:
            raise self.error(404, "TaskNotFound")
        return job, task
