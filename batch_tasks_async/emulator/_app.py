"""The emulator's ASGI application (starlette): the Batch Task and Job endpoints."""

from __future__ import annotations

import base64
import binascii
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import anyio
import anyio.lowlevel
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ._auth import SharedKeyVerifier
from ._config import EmulatorConfig
from ._errors import EmulatorHTTPError, error_body, error_object
from ._filter import JOB_PROPERTIES, TASK_PROPERTIES, FilterError, Predicate, compile_filter
from ._state import JobRecord, Store, TaskRecord, http_date, iso, valid_id

__all__ = ["TRANSPORT_EXTENSION", "ConnectionDroppedError", "create_app"]

#: Key under ``scope["extensions"]`` where the emulator's uvicorn protocol puts the transport,
#: so a fault can drop the connection without sending a response.
TRANSPORT_EXTENSION = "batch_tasks_async.emulator.transport"
JSON_CONTENT_TYPE = "application/json;odata=minimalmetadata"
_SKIPTOKEN_PREFIX = "WATV2:"
_NOT_AN_OBJECT = "The request body must be a JSON object."


class ConnectionDroppedError(ConnectionError):
    """Raised out of the app by a drop fault when it is served in-process (no socket to drop).

    Under the emulator's own uvicorn runner the connection is aborted instead and the client
    sees a connection error with no HTTP response at all.
    """


class _DroppedError(Exception):
    """Internal: the connection has been aborted; send nothing."""


class _NoResponse(Response):
    """A response that sends nothing (the transport is already gone)."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return


_date_cache: list[Any] = [0, ""]


def _date_header() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = http_date(now)
    return str(_date_cache[1])


class _Ctx:
    """Per-request context handed to the handlers."""

    __slots__ = ("base_url", "faults_on", "op", "path_params", "query", "request", "request_id")

    def __init__(self, request: Request, op: str, faults_on: bool) -> None:
        self.request = request
        self.op = op
        self.faults_on = faults_on
        self.request_id = str(uuid.uuid4())
        scope = request.scope
        host = request.headers.get("host")
        if not host:
            server = scope.get("server") or ("localhost", 80)
            host = f"{server[0]}:{server[1]}"
        self.base_url = f"{scope.get('scheme', 'http')}://{host}"
        self.path_params: dict[str, str] = request.path_params
        self.query = request.query_params

    def error(
        self,
        status: int,
        code: str,
        *,
        message: str | None = None,
        values: tuple[tuple[str, str], ...] = (),
        headers: Mapping[str, str] | None = None,
    ) -> EmulatorHTTPError:
        return EmulatorHTTPError(status, code, message=message, values=values, headers=headers)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"content-type": JSON_CONTENT_TYPE}
    if headers:
        all_headers.update(headers)
    return Response(orjson.dumps(body), status_code=status, headers=all_headers)


def _empty(status: int, headers: dict[str, str]) -> Response:
    return Response(b"", status_code=status, headers={"content-length": "0", **headers})


def _entity_headers(
    etag: str, last_modified: float, *, url: str | None = None, created: bool = False
) -> dict[str, str]:
    """ETag and Last-Modified, plus DataServiceId (and Location on a create) when ``url``."""
    headers = {"etag": etag, "last-modified": http_date(last_modified)}
    if url is not None:
        headers["dataserviceid"] = url
        if created:
            headers["location"] = url
    return headers


class _App:
    """Handlers bound to one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.config = store.config
        faults = self.config.faults
        self.faults = faults
        self.verifier = (
            SharedKeyVerifier(self.config.account_name, self.config.account_key)
            if self.config.account_key
            else None
        )
        self.auth_required = (
            self.verifier is not None or self.config.accept_bearer_token is not None
        )

    # -- plumbing ------------------------------------------------------------------------------

    def endpoint(
        self, op: str, handler: Callable[[_Ctx], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        faults_on = op in self.faults.operations and self.faults.any_active
        stats = self.store

        async def run(request: Request) -> Response:
            stats.stats.requests[op] += 1
            ctx = _Ctx(request, op, faults_on)
            try:
                self.authenticate(request)
                self.check_common_query(ctx)
                if faults_on and self.faults.latency_ms:
                    await anyio.sleep(self.faults.latency_ms / 1000.0)
                response = await handler(ctx)
            except EmulatorHTTPError as exc:
                response = self.error_response(ctx, exc)
            except _DroppedError:
                return _NoResponse()
            self.finish(ctx, response)
            return response

        return run

    def finish(self, ctx: _Ctx, response: Response) -> None:
        headers = response.headers
        headers["request-id"] = ctx.request_id
        headers["dataserviceversion"] = "3.0"
        headers["x-content-type-options"] = "nosniff"
        headers["date"] = _date_header()
        req_headers = ctx.request.headers
        if req_headers.get("return-client-request-id", "").lower() == "true":
            client_id = req_headers.get("client-request-id")
            if client_id:
                headers["client-request-id"] = client_id

    def error_response(self, ctx: _Ctx, exc: EmulatorHTTPError) -> Response:
        if exc.status == 304:
            return Response(b"", status_code=304, headers=exc.headers)
        body = error_body(
            ctx.base_url, exc.code, ctx.request_id, message=exc.message, values=exc.values
        )
        return _json(exc.status, body, exc.headers)

    def authenticate(self, request: Request) -> None:
        if not self.auth_required:
            return
        header = request.headers.get("authorization")
        detail: str
        if not header:
            detail = "The request is missing the Authorization header."
        elif header.startswith("Bearer "):
            allowed = self.config.accept_bearer_token
            token = header[7:].strip()
            if allowed is not None and token and (allowed == "*" or token == allowed):
                return
            detail = "The bearer token is not valid for this account."
        elif self.verifier is not None:
            scope = request.scope
            raw_path = scope.get("raw_path") or scope["path"].encode()
            ok = self.verifier.verify(
                header,
                request.method,
                raw_path.decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                request.headers.items(),
            )
            if ok:
                return
            detail = (
                "The MAC signature found in the HTTP request is not the same as any "
                "computed signature."
            )
        else:
            detail = "Shared Key authentication is not configured for this account."
        raise EmulatorHTTPError(
            403, "AuthenticationFailed", values=(("AuthenticationErrorDetail", detail),)
        )

    def check_common_query(self, ctx: _Ctx) -> None:
        version = ctx.query.get("api-version")
        if version is None:
            raise ctx.error(
                400,
                "MissingRequiredQueryParameter",
                values=(("QueryParameterName", "api-version"),),
            )
        if version not in self.config.api_versions:
            raise ctx.error(
                400,
                "UnsupportedRequestVersion",
                values=(
                    ("QueryParameterName", "api-version"),
                    ("QueryParameterValue", version),
                    ("Reason", "The specified api-version is not supported."),
                ),
            )
        timeout = ctx.query.get("timeout")
        if timeout is not None:
            try:
                seconds = int(timeout)
            except ValueError:
                seconds = 0
            if seconds <= 0:
                raise self.bad_query(
                    ctx, "timeout", timeout, "The timeout must be a positive integer."
                )
            # The service caps the server-side timeout at 30 seconds; larger values mean 30.

    @staticmethod
    def bad_query(ctx: _Ctx, name: str, value: str, reason: str) -> EmulatorHTTPError:
        return ctx.error(
            400,
            "InvalidQueryParameterValue",
            values=(
                ("QueryParameterName", name),
                ("QueryParameterValue", value),
                ("Reason", reason),
            ),
        )

    async def read_json(self, ctx: _Ctx) -> Any:
        request = ctx.request
        limit = self.config.max_body_bytes
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
            raise ctx.error(413, "RequestBodyTooLarge", values=(("MaxLimit", str(limit)),))
        data = b"".join(chunks)
        if not data:
            raise ctx.error(400, "InvalidRequestBody", message="The request body is empty.")
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ctx.error(
                400,
                "InvalidRequestBody",
                values=(("Reason", f"The request body is not valid JSON: {exc}"),),
            ) from None

    def job_or_404(self, ctx: _Ctx) -> JobRecord:
        job = self.store.get_job(ctx.path_params["job_id"])
        if job is None:
            raise ctx.error(404, "JobNotFound")
        return job

    def task_or_404(self, ctx: _Ctx) -> tuple[JobRecord, TaskRecord]:
        job = self.job_or_404(ctx)
        task = job.tasks.get(ctx.path_params["task_id"].lower())
        if task is None:
            raise ctx.error(404, "TaskNotFound")
        return job, task

    def check_conditions(self, ctx: _Ctx, etag: str, last_modified: float, *, read: bool) -> None:
        """Honour If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since."""
        headers = ctx.request.headers
        if_match = headers.get("if-match")
        if_none_match = headers.get("if-none-match")
        if_modified = headers.get("if-modified-since")
        if_unmodified = headers.get("if-unmodified-since")
        if not (if_match or if_none_match or if_modified or if_unmodified):
            return
        failed = 304 if read else 412
        modified = int(last_modified)
        if if_match and not _etag_matches(if_match, etag):
            raise ctx.error(412, "ConditionNotMet")
        if if_unmodified and modified > _http_time(ctx, "If-Unmodified-Since", if_unmodified):
            raise ctx.error(412, "ConditionNotMet")
        if if_none_match and _etag_matches(if_none_match, etag):
            if failed == 304:
                raise EmulatorHTTPError(304, "ConditionNotMet", headers={"etag": etag})
            raise ctx.error(412, "ConditionNotMet")
        if if_modified and modified <= _http_time(ctx, "If-Modified-Since", if_modified):
            if failed == 304:
                raise EmulatorHTTPError(304, "ConditionNotMet", headers={"etag": etag})
            raise ctx.error(412, "ConditionNotMet")

    # -- faults --------------------------------------------------------------------------------

    def _roll(self, probability: float) -> bool:
        return probability > 0.0 and self.store.rng.random() < probability

    async def before_commit(self, ctx: _Ctx) -> None:
        """Whole-request faults that fire before anything is committed."""
        if not ctx.faults_on:
            return
        faults = self.faults
        stats = self.store.stats.faults
        retry_after = str(faults.retry_after)
        if self._roll(faults.throttle_429):
            stats["throttle_429"] += 1
            raise ctx.error(
                429, "TooManyRequests", headers={"retry-after": str(faults.retry_after)}
            )
        if self._roll(faults.busy_503):
            stats["busy_503"] += 1
            raise ctx.error(503, "ServerBusy", headers={"retry-after": retry_after})
        if self._roll(faults.internal_error_500):
            stats["internal_error_500"] += 1
            raise ctx.error(500, "InternalError")
        if self._roll(faults.drop_before_commit):
            stats["drop_before_commit"] += 1
            await self.drop(ctx)

    async def after_commit(self, ctx: _Ctx) -> None:
        """Faults that fire once the request's changes are committed."""
        if not ctx.faults_on:
            return
        faults = self.faults
        if self._roll(faults.drop_after_commit):
            self.store.stats.faults["drop_after_commit"] += 1
            await self.drop(ctx)
        if self._roll(faults.delay_after_commit):
            self.store.stats.faults["delay_after_commit"] += 1
            await anyio.sleep(faults.delay_after_commit_seconds)

    async def drop(self, ctx: _Ctx) -> None:
        """Close the connection without a response (abort the socket under uvicorn)."""
        extensions = ctx.request.scope.get("extensions") or {}
        transport = extensions.get(TRANSPORT_EXTENSION)
        if transport is None:
            raise ConnectionDroppedError("the emulator dropped the connection (fault injection)")
        transport.abort()
        # Let the server see the connection is gone before the app returns.
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        raise _DroppedError

    def rate_limit(self, ctx: _Ctx, job: JobRecord, count: int) -> None:
        """Per-job token bucket in tasks per second (one second of burst)."""
        rate = self.faults.job_rate_limit
        if not ctx.faults_on or not rate:
            return
        now = time.monotonic()
        if job.bucket_tokens is None:
            tokens = rate
        else:
            tokens = min(rate, job.bucket_tokens + (now - job.bucket_time) * rate)
        job.bucket_time = now
        if tokens >= min(count, rate):
            job.bucket_tokens = tokens - count
            return
        job.bucket_tokens = tokens
        wait = max(1, math.ceil((min(count, rate) - tokens) / rate))
        self.store.stats.faults["job_rate_limit"] += 1
        if self.faults.rate_limit_status == 503:
            raise ctx.error(503, "ServerBusy", headers={"retry-after": str(wait)})
        raise ctx.error(429, "TooManyRequests", headers={"retry-after": str(wait)})

    # -- task validation -------------------------------------------------------------------------

    @staticmethod
    def task_problem(task: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        """Why a task dict cannot be added, as (error code, values); ``None`` if it can."""
        task_id = task.get("id")
        if task_id is None:
            return "MissingRequiredProperty", (("PropertyName", "id"),)
        if not valid_id(task_id):
            return "InvalidPropertyValue", (
                ("PropertyName", "id"),
                ("PropertyValue", str(task_id)),
                (
                    "Reason",
                    "The id can contain any combination of alphanumeric characters including "
                    "hyphens and underscores, and cannot contain more than 64 characters.",
                ),
            )
        command = task.get("commandLine")
        if command is None:
            return "MissingRequiredProperty", (("PropertyName", "commandLine"),)
        if not isinstance(command, str) or not command:
            return "InvalidPropertyValue", (
                ("PropertyName", "commandLine"),
                ("PropertyValue", str(command)),
            )
        if len(task) > 2:
            slots = task.get("requiredSlots")
            if slots is not None and (not isinstance(slots, int) or slots < 1):
                return "InvalidPropertyValue", (
                    ("PropertyName", "requiredSlots"),
                    ("PropertyValue", str(slots)),
                )
            multi = task.get("multiInstanceSettings")
            if multi is not None:
                count = multi.get("numberOfInstances", 1) if isinstance(multi, Mapping) else None
                if not isinstance(count, int) or count < 1:
                    return "InvalidPropertyValue", (
                        ("PropertyName", "numberOfInstances"),
                        ("PropertyValue", str(count)),
                    )
            constraints = task.get("constraints")
            if constraints is not None and not isinstance(constraints, Mapping):
                return "InvalidPropertyValue", (("PropertyName", "constraints"),)
        return None

    def commit(self, job: JobRecord, task: dict[str, Any], now: float) -> TaskRecord:
        record = TaskRecord(task, now, self.store.next_etag(now))
        key = record.id.lower()
        job.tasks[key] = record
        if job.sorted_keys is not None:
            job.sorted_keys = None
        stats = self.store.stats
        stats.tasks_committed += 1
        stats.tasks_committed_per_job[job.id] += 1
        stats.task_commit_counts[(job.id, record.id)] += 1
        return record

    # -- task handlers ---------------------------------------------------------------------------

    async def task_add(self, ctx: _Ctx) -> Response:
        job = self.job_or_404(ctx)
        task = await self.read_json(ctx)
        if not isinstance(task, dict):
            raise ctx.error(
                400, "InvalidRequestBody", message="The request body must be a JSON object."
            )
        problem = self.task_problem(task)
        if problem is not None:
            raise ctx.error(400, problem[0], values=problem[1])
        await self.before_commit(ctx)
        self.rate_limit(ctx, job, 1)
        with self.store.lock:
            if task["id"].lower() in job.tasks:
                self.store.stats.duplicate_add_attempts += 1
                raise ctx.error(409, "TaskExists")
            now = self.store.now()
            record = self.commit(job, task, now)
        await self.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}/tasks/{record.id}"
        return _empty(
            201, _entity_headers(record.etag, record.last_modified, url=url, created=True)
        )

    async def task_add_collection(self, ctx: _Ctx) -> Response:
        job = self.job_or_404(ctx)
        body = await self.read_json(ctx)
        values = body.get("value") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise ctx.error(400, "MissingRequiredProperty", values=(("PropertyName", "value"),))
        limit = self.config.max_tasks_per_collection
        if len(values) > limit:
            raise ctx.error(
                400,
                "InvalidPropertyValue",
                values=(
                    ("PropertyName", "value"),
                    ("PropertyValue", str(len(values))),
                    ("Reason", f"The maximum number of tasks in a collection is {limit}."),
                ),
            )
        for task in values:
            if not isinstance(task, dict) or not isinstance(task.get("id"), str):
                raise ctx.error(400, "MissingRequiredProperty", values=(("PropertyName", "id"),))
        await self.before_commit(ctx)
        self.rate_limit(ctx, job, len(values))
        store = self.store
        rng = store.rng
        server_error_p = self.faults.task_server_error if ctx.faults_on else 0.0
        pascal = self.config.status_casing == "pascal"
        success = "Success" if pascal else "success"
        client_error = "ClientError" if pascal else "clienterror"
        server_error = "ServerError" if pascal else "servererror"
        base = ctx.base_url
        tasks_url = f"{base}/jobs/{job.id}/tasks/"
        results: list[dict[str, Any]] = []
        with store.lock:
            now = store.now()
            last_modified = iso(now)
            existing = job.tasks
            stats = store.stats
            for task in values:
                task_id: str = task["id"]
                problem = self.task_problem(task)
                code: str | None = None
                error_values: tuple[tuple[str, str], ...] = ()
                status = client_error
                if problem is not None:
                    code, error_values = problem
                elif task_id.lower() in existing:
                    code = "TaskExists"
                    stats.duplicate_add_attempts += 1
                elif server_error_p and rng.random() < server_error_p:
                    code, status = "ServerBusy", server_error
                    stats.faults["task_server_error"] += 1
                if code is None:
                    record = self.commit(job, task, now)
                    results.append(
                        {
                            "status": success,
                            "taskId": task_id,
                            "eTag": record.etag,
                            "lastModified": last_modified,
                            "location": tasks_url + task_id,
                        }
                    )
                else:
                    results.append(
                        {
                            "error@odata.navigationLinkUrl": f"{tasks_url}{task_id}/error",
                            "error": error_object(code, ctx.request_id, values=error_values),
                            "status": status,
                            "taskId": task_id,
                        }
                    )
            if self.config.shuffle_results and len(results) > 1:
                rng.shuffle(results)
        await self.after_commit(ctx)
        return _json(200, {"odata.metadata": f"{base}/$metadata#taskaddresult", "value": results})

    async def task_get(self, ctx: _Ctx) -> Response:
        job, task = self.task_or_404(ctx)
        self.store.settle(job, task)
        self.check_conditions(ctx, task.etag, task.last_modified, read=True)
        select = self.parse_select(ctx)
        expand = self.parse_expand(ctx)
        await self.before_commit(ctx)
        body = {"odata.metadata": f"{ctx.base_url}/$metadata#tasks/@Element"}
        body.update(_select(self.store.task_wire(job, task, ctx.base_url, stats=expand), select))
        await self.after_commit(ctx)
        return _json(200, body, _entity_headers(task.etag, task.last_modified))

    async def task_update(self, ctx: _Ctx) -> Response:
        job, task = self.task_or_404(ctx)
        self.store.settle(job, task)
        self.check_conditions(ctx, task.etag, task.last_modified, read=False)
        body = await self.read_json(ctx)
        if not isinstance(body, dict):
            raise ctx.error(
                400, "InvalidRequestBody", message="The request body must be a JSON object."
            )
        constraints = body.get("constraints")
        if constraints is not None and not isinstance(constraints, dict):
            raise ctx.error(400, "InvalidPropertyValue", values=(("PropertyName", "constraints"),))
        if task.state == "completed":
            raise ctx.error(409, "TaskCompleted")
        await self.before_commit(ctx)
        with self.store.lock:
            new_body = dict(task.body)
            if constraints is None:
                new_body.pop("constraints", None)
            else:
                new_body["constraints"] = constraints
            task.body = new_body
            now = self.store.now()
            task.etag = self.store.next_etag(now)
            task.last_modified = now
        await self.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}/tasks/{task.id}"
        return _empty(200, _entity_headers(task.etag, task.last_modified, url=url))

    async def task_delete(self, ctx: _Ctx) -> Response:
        job, task = self.task_or_404(ctx)
        self.check_conditions(ctx, task.etag, task.last_modified, read=False)
        await self.before_commit(ctx)
        with self.store.lock:
            job.tasks.pop(task.id.lower(), None)
            job.sorted_keys = None
        await self.after_commit(ctx)
        return _empty(200, {})

    async def task_terminate(self, ctx: _Ctx) -> Response:
        job, task = self.task_or_404(ctx)
        self.store.settle(job, task)
        self.check_conditions(ctx, task.etag, task.last_modified, read=False)
        if task.state == "completed":
            raise ctx.error(409, "TaskCompleted")
        await self.before_commit(ctx)
        with self.store.lock:
            self.store.terminate(task)
        await self.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}/tasks/{task.id}/terminate"
        return _empty(204, _entity_headers(task.etag, task.last_modified, url=url))

    async def task_reactivate(self, ctx: _Ctx) -> Response:
        job, task = self.task_or_404(ctx)
        self.store.settle(job, task)
        self.check_conditions(ctx, task.etag, task.last_modified, read=False)
        if task.state != "completed":
            raise ctx.error(
                409,
                "OperationInvalidForCurrentState",
                message="Only completed tasks can be reactivated; this task is not completed.",
                values=(("TaskState", task.state),),
            )
        if not task.failed:
            raise ctx.error(
                409,
                "OperationInvalidForCurrentState",
                message="The task completed successfully (exit code 0) and cannot be reactivated.",
                values=(("TaskState", task.state),),
            )
        await self.before_commit(ctx)
        with self.store.lock:
            self.store.reactivate(task)
        await self.after_commit(ctx)
        return _empty(204, _entity_headers(task.etag, task.last_modified))

    async def task_list(self, ctx: _Ctx) -> Response:
        job = self.job_or_404(ctx)
        predicate = self.parse_filter(ctx, TASK_PROPERTIES)
        select = self.parse_select(ctx)
        expand = self.parse_expand(ctx)
        limit = self.parse_maxresults(ctx)
        after = self.parse_skiptoken(ctx)
        await self.before_commit(ctx)
        store = self.store
        base = ctx.base_url
        now = store.now()
        page: list[dict[str, Any]] = []
        last_key: str | None = None
        more = False
        for key, task in store.iter_tasks(job, after):
            store.settle(job, task, now)
            wire = store.task_wire(job, task, base, stats=expand)
            if predicate is not None and not predicate(wire):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(_select(wire, select))
            last_key = key
        body: dict[str, Any] = {"odata.metadata": f"{base}/$metadata#tasks", "value": page}
        if more and last_key is not None:
            body["odata.nextLink"] = self.next_link(ctx, f"/jobs/{job.id}/tasks", limit, last_key)
        await self.after_commit(ctx)
        return _json(200, body)

    async def task_list_subtasks(self, ctx: _Ctx) -> Response:
        job, task = self.task_or_404(ctx)
        self.store.settle(job, task)
        select = self.parse_select(ctx)
        await self.before_commit(ctx)
        value = [_select(s, select) for s in self.store.subtasks_wire(job, task, ctx.base_url)]
        await self.after_commit(ctx)
        return _json(
            200, {"odata.metadata": f"{ctx.base_url}/$metadata#subtaskinfo", "value": value}
        )

    async def task_counts(self, ctx: _Ctx) -> Response:
        job = self.job_or_404(ctx)
        await self.before_commit(ctx)
        counts = self.store.counts(job)
        slots = dict.fromkeys(counts, 0)
        for task in job.tasks.values():
            n = task.body.get("requiredSlots", 1)
            n = n if isinstance(n, int) else 1
            slots[task.state] += n
            if task.state == "completed":
                slots["failed" if task.failed else "succeeded"] += n
        await self.after_commit(ctx)
        return _json(
            200,
            {
                "odata.metadata": f"{ctx.base_url}/$metadata#taskcountsresult/@Element",
                "taskCounts": counts,
                "taskSlotCounts": slots,
            },
        )

    # -- job handlers ----------------------------------------------------------------------------

    async def job_add(self, ctx: _Ctx) -> Response:
        body = await self.read_json(ctx)
        if not isinstance(body, dict):
            raise ctx.error(
                400, "InvalidRequestBody", message="The request body must be a JSON object."
            )
        job_id = body.get("id")
        if job_id is None:
            raise ctx.error(400, "MissingRequiredProperty", values=(("PropertyName", "id"),))
        if not valid_id(job_id):
            raise ctx.error(
                400,
                "InvalidPropertyValue",
                values=(("PropertyName", "id"), ("PropertyValue", str(job_id))),
            )
        await self.before_commit(ctx)
        job = self.store.add_job(body)
        if job is None:
            raise ctx.error(409, "JobExists")
        await self.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}"
        return _empty(201, _entity_headers(job.etag, job.last_modified, url=url, created=True))

    async def job_get(self, ctx: _Ctx) -> Response:
        job = self.job_or_404(ctx)
        self.check_conditions(ctx, job.etag, job.last_modified, read=True)
        select = self.parse_select(ctx)
        await self.before_commit(ctx)
        body = {"odata.metadata": f"{ctx.base_url}/$metadata#jobs/@Element"}
        body.update(_select(self.store.job_wire(job, ctx.base_url), select))
        await self.after_commit(ctx)
        return _json(200, body, _entity_headers(job.etag, job.last_modified))

    async def job_delete(self, ctx: _Ctx) -> Response:
        job = self.job_or_404(ctx)
        self.check_conditions(ctx, job.etag, job.last_modified, read=False)
        await self.before_commit(ctx)
        with self.store.lock:
            self.store.jobs.pop(job.id.lower(), None)
        await self.after_commit(ctx)
        return _empty(202, {})

    async def job_list(self, ctx: _Ctx) -> Response:
        predicate = self.parse_filter(ctx, JOB_PROPERTIES)
        select = self.parse_select(ctx)
        limit = self.parse_maxresults(ctx)
        after = self.parse_skiptoken(ctx)
        await self.before_commit(ctx)
        page: list[dict[str, Any]] = []
        last_key: str | None = None
        more = False
        for key in sorted(self.store.jobs):
            if after is not None and key <= after:
                continue
            wire = self.store.job_wire(self.store.jobs[key], ctx.base_url)
            if predicate is not None and not predicate(wire):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(_select(wire, select))
            last_key = key
        body: dict[str, Any] = {"odata.metadata": f"{ctx.base_url}/$metadata#jobs", "value": page}
        if more and last_key is not None:
            body["odata.nextLink"] = self.next_link(ctx, "/jobs", limit, last_key)
        await self.after_commit(ctx)
        return _json(200, body)

    # -- query parameters ------------------------------------------------------------------------

    def parse_filter(self, ctx: _Ctx, properties: frozenset[str]) -> Predicate | None:
        text = ctx.query.get("$filter")
        if text is None or not text.strip():
            return None
        try:
            return compile_filter(text, properties)
        except FilterError as exc:
            raise self.bad_query(ctx, "$filter", text, str(exc)) from None

    @staticmethod
    def parse_select(ctx: _Ctx) -> frozenset[str] | None:
        text = ctx.query.get("$select")
        if text is None or not text.strip():
            return None
        return frozenset(part.strip().lower() for part in text.split(",") if part.strip())

    def parse_expand(self, ctx: _Ctx) -> bool:
        text = ctx.query.get("$expand")
        if text is None or not text.strip():
            return False
        parts = {part.strip().lower() for part in text.split(",") if part.strip()}
        if parts - {"stats"}:
            raise self.bad_query(ctx, "$expand", text, "Only 'stats' can be expanded on tasks.")
        return True

    def parse_maxresults(self, ctx: _Ctx) -> int:
        text = ctx.query.get("maxresults")
        limit = self.config.max_results
        if text is None:
            return limit
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= limit:
            raise self.bad_query(
                ctx, "maxresults", text, f"maxresults must be between 1 and {limit}."
            )
        return value

    def parse_skiptoken(self, ctx: _Ctx) -> str | None:
        token = ctx.query.get("$skiptoken")
        if token is None:
            return None
        if token.startswith(_SKIPTOKEN_PREFIX):
            try:
                raw = token[len(_SKIPTOKEN_PREFIX) :]
                return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass
        raise self.bad_query(ctx, "$skiptoken", token, "The continuation token is not valid.")

    def next_link(self, ctx: _Ctx, path: str, limit: int, last_key: str) -> str:
        token = _SKIPTOKEN_PREFIX + base64.urlsafe_b64encode(last_key.encode()).decode().rstrip("=")
        query = ctx.query
        parts = [f"api-version={quote(query.get('api-version', ''), safe='.-')}"]
        for name in ("$filter", "$select", "$expand", "timeout"):
            value = query.get(name)
            if value is not None:
                parts.append(f"{name}={quote(value, safe='')}")
        parts.append(f"maxresults={limit}")
        parts.append(f"$skiptoken={token}")
        return f"{ctx.base_url}{path}?{'&'.join(parts)}"

    # -- emulator control endpoints ----------------------------------------------------------------

    async def control_stats(self, request: Request) -> Response:
        per_task = request.query_params.get("per_task", "").lower() in ("1", "true", "yes")
        with self.store.lock:
            snap = self.store.stats.snapshot(per_task=per_task)
        return Response(orjson.dumps(snap), headers={"content-type": "application/json"})

    async def control_reset(self, request: Request) -> Response:
        self.store.reset()
        return Response(b"", status_code=204)

    async def control_advance(self, request: Request) -> Response:
        target = request.query_params.get("to", "completed")
        try:
            with self.store.lock:
                job, task = self.store.find_task(
                    request.path_params["job_id"], request.path_params["task_id"]
                )
                self.store.advance(job, task, target)
        except KeyError:
            return Response(b'{"error":"no such job or task"}', status_code=404)
        except ValueError as exc:
            return Response(orjson.dumps({"error": str(exc)}), status_code=409)
        return Response(b"", status_code=204)


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        value = candidate.strip()
        if value.startswith("W/"):
            value = value[2:]
        value = value.strip('"')
        if value == "*" or value == etag:
            return True
    return False


def _http_time(ctx: _Ctx, name: str, value: str) -> int:
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        raise EmulatorHTTPError(
            400,
            "InvalidHeaderValue",
            values=(("HeaderName", name), ("HeaderValue", value)),
        ) from None


def _select(item: dict[str, Any], select: frozenset[str] | None) -> dict[str, Any]:
    if select is None:
        return item
    return {key: value for key, value in item.items() if key.lower() in select}


def create_app(config: EmulatorConfig | None = None, *, store: Store | None = None) -> Starlette:
    """Build the emulator's ASGI app for ``config`` (or around an existing ``store``).

    The store is reachable as ``app.state.store`` (jobs, tasks and statistics).
    """
    if store is None:
        store = Store(config or EmulatorConfig())
    impl = _App(store)
    ep = impl.endpoint
    routes = [
        Route("/jobs", ep("job_add", impl.job_add), methods=["POST"]),
        Route("/jobs", ep("job_list", impl.job_list), methods=["GET"]),
        Route("/jobs/{job_id}", ep("job_get", impl.job_get), methods=["GET"]),
        Route("/jobs/{job_id}", ep("job_delete", impl.job_delete), methods=["DELETE"]),
        Route("/jobs/{job_id}/tasks", ep("task_add", impl.task_add), methods=["POST"]),
        Route("/jobs/{job_id}/tasks", ep("task_list", impl.task_list), methods=["GET"]),
        Route(
            "/jobs/{job_id}/addtaskcollection",
            ep("task_add_collection", impl.task_add_collection),
            methods=["POST"],
        ),
        Route("/jobs/{job_id}/taskcounts", ep("task_counts", impl.task_counts), methods=["GET"]),
        Route("/jobs/{job_id}/tasks/{task_id}", ep("task_get", impl.task_get), methods=["GET"]),
        Route(
            "/jobs/{job_id}/tasks/{task_id}", ep("task_update", impl.task_update), methods=["PUT"]
        ),
        Route(
            "/jobs/{job_id}/tasks/{task_id}",
            ep("task_delete", impl.task_delete),
            methods=["DELETE"],
        ),
        Route(
            "/jobs/{job_id}/tasks/{task_id}/subtasksinfo",
            ep("task_list_subtasks", impl.task_list_subtasks),
            methods=["GET"],
        ),
        Route(
            "/jobs/{job_id}/tasks/{task_id}/terminate",
            ep("task_terminate", impl.task_terminate),
            methods=["POST"],
        ),
        Route(
            "/jobs/{job_id}/tasks/{task_id}/reactivate",
            ep("task_reactivate", impl.task_reactivate),
            methods=["POST"],
        ),
        Route("/_emulator/stats", impl.control_stats, methods=["GET"]),
        Route("/_emulator/reset", impl.control_reset, methods=["POST"]),
        Route(
            "/_emulator/jobs/{job_id}/tasks/{task_id}/advance",
            impl.control_advance,
            methods=["POST"],
        ),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        code = "UnsupportedHttpVerb" if status == 405 else "ResourceNotFound"
        request_id = str(uuid.uuid4())
        host = request.headers.get("host", "localhost")
        base = f"{request.scope.get('scheme', 'http')}://{host}"
        return _json(
            status,
            error_body(base, code, request_id),
            {"request-id": request_id, "dataserviceversion": "3.0"},
        )

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.store = store
    return app
