"""The route table and the steps every Batch request goes through around its handler:
statistics, authentication, common query checks, faults, error bodies and common headers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._auth import Authenticator
from ._context import RequestContext, base_url_of
from ._control import ControlHandlers
from ._errors import EmulatorHTTPError, error_body
from ._faults import DroppedError, Faults
from ._handlers_file import FileHandlers
from ._handlers_job import JobHandlers
from ._handlers_task import TaskHandlers
from ._query import check_common_query
from ._responses import NoResponse, date_header, json_response
from ._state import Store

__all__ = ["build_routes", "not_found"]

Handler = Callable[[RequestContext], Awaitable[Response]]


class Endpoints:
    """Wraps handlers into starlette endpoints that share one store, auth and fault injector."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.config = store.config
        self.faults = faults
        self.auth = Authenticator(store.config)

    def wrap(self, op: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of operation ``op``."""
        faults = self.faults
        faults_on = faults.applies_to(op)
        store = self.store
        auth = self.auth
        config = self.config

        async def run(request: Request) -> Response:
            store.stats.requests[op] += 1
            ctx = RequestContext(request, op, faults_on)
            try:
                auth.check(request)
                check_common_query(ctx, config)
                await faults.on_request(ctx)
                response = await handler(ctx)
            except EmulatorHTTPError as exc:
                response = error_response(ctx, exc)
            except DroppedError:
                return NoResponse()
            finish(ctx, response)
            if faults_on:
                try:
                    response = await faults.respond(ctx, response)
                except DroppedError:
                    return NoResponse()
            return response

        return run


def error_response(ctx: RequestContext, exc: EmulatorHTTPError) -> Response:
    """The Batch error body (or a bare 304) for ``exc``."""
    if exc.status == 304:
        return Response(b"", status_code=304, headers=exc.headers)
    body = error_body(
        ctx.base_url, exc.code, ctx.request_id, message=exc.message, values=exc.values
    )
    return json_response(exc.status, body, exc.headers)


def finish(ctx: RequestContext, response: Response) -> None:
    """The headers the service puts on every answer."""
    headers = response.headers
    headers["request-id"] = ctx.request_id
    headers["dataserviceversion"] = "3.0"
    headers["x-content-type-options"] = "nosniff"
    headers["date"] = date_header()
    req_headers = ctx.request.headers
    if req_headers.get("return-client-request-id", "").lower() == "true":
        client_id = req_headers.get("client-request-id")
        if client_id:
            headers["client-request-id"] = client_id


def build_routes(store: Store) -> list[Route]:
    """Every route of the emulator, bound to ``store``."""
    faults = Faults(store)
    ep = Endpoints(store, faults).wrap
    tasks = TaskHandlers(store, faults)
    jobs = JobHandlers(store, faults)
    files = FileHandlers(store, faults)
    control = ControlHandlers(store)
    task = "/jobs/{job_id}/tasks/{task_id}"
    file = f"{task}/files/{{file_path:path}}"
    return [
        Route("/jobs", ep("job_add", jobs.add), methods=["POST"]),
        Route("/jobs", ep("job_list", jobs.list), methods=["GET"]),
        Route("/jobs/{job_id}", ep("job_get", jobs.get), methods=["GET"]),
        Route("/jobs/{job_id}", ep("job_delete", jobs.delete), methods=["DELETE"]),
        Route("/jobs/{job_id}/tasks", ep("task_add", tasks.add), methods=["POST"]),
        Route("/jobs/{job_id}/tasks", ep("task_list", tasks.list), methods=["GET"]),
        Route(
            "/jobs/{job_id}/addtaskcollection",
            ep("task_add_collection", tasks.add_collection),
            methods=["POST"],
        ),
        Route("/jobs/{job_id}/taskcounts", ep("task_counts", tasks.counts), methods=["GET"]),
        Route(task, ep("task_get", tasks.get), methods=["GET"]),
        Route(task, ep("task_update", tasks.update), methods=["PUT"]),
        Route(task, ep("task_delete", tasks.delete), methods=["DELETE"]),
        Route(
            f"{task}/subtasksinfo",
            ep("task_list_subtasks", tasks.list_subtasks),
            methods=["GET"],
        ),
        Route(f"{task}/terminate", ep("task_terminate", tasks.terminate), methods=["POST"]),
        Route(f"{task}/reactivate", ep("task_reactivate", tasks.reactivate), methods=["POST"]),
        Route(f"{task}/files", ep("file_list", files.list), methods=["GET"]),
        # HEAD first: a GET route answers HEAD too.
        Route(file, ep("file_get_properties", files.get), methods=["HEAD"]),
        Route(file, ep("file_get", files.get), methods=["GET"]),
        Route(file, ep("file_delete", files.delete), methods=["DELETE"]),
        Route("/_emulator/stats", control.stats, methods=["GET"]),
        Route("/_emulator/reset", control.reset, methods=["POST"]),
        Route("/_emulator/clock", control.clock, methods=["POST"]),
        Route(
            "/_emulator/jobs/{job_id}/tasks/{task_id}/advance", control.advance, methods=["POST"]
        ),
    ]


async def not_found(request: Request, exc: Exception) -> Response:
    """404 ``ResourceNotFound`` / 405 ``UnsupportedHttpVerb`` for paths no route serves."""
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    code = "UnsupportedHttpVerb" if status == 405 else "ResourceNotFound"
    request_id = str(uuid.uuid4())
    return json_response(
        status,
        error_body(base_url_of(request), code, request_id),
        {"request-id": request_id, "dataserviceversion": "3.0"},
    )
