"""Seeded fault injection behind one object, [`Faults`][batch_tasks_async.emulator._faults.Faults].

Handlers call it at fixed hook points and know nothing about fault kinds:

* ``await faults.on_request(ctx)``: once a request is authenticated and its query checked
  (added latency);
* ``await faults.before_commit(ctx)``: just before a handler changes anything (429, 503, 500,
  dropped connection);
* ``faults.admit(ctx, job, count)``: before ``count`` tasks are added to ``job`` (rate limit);
* ``faults.task_outcome(ctx, task_id)``: for each task of an add-collection request that would be
  committed; a ``(code, status)`` result replaces the commit with an error result;
* ``faults.collection_results(ctx, results)``: the add-collection results before they are sent;
* ``await faults.after_commit(ctx)``: once the changes are committed (dropped connection,
  delayed answer);
* ``await faults.respond(ctx, response)``: the response about to be sent, for every operation.

A new fault kind is a field of [`FaultConfig`][batch_tasks_async.emulator.FaultConfig] and code in
this module at one of those hooks. Where each kind fires:

* ``on_request``: latency; a poison task (any request holding a matching id answers 500,
  nothing committed);
* ``before_commit``: 429, 503, 500, drop before commit (nothing committed); a late commit
  (wait, then commit: after the client gave up);
* ``admit``: the rate limit; ``task_outcome``: a per-task server error (that task not committed);
* ``collection_results``: entries left out, listed twice (``TaskExists`` then success), or with
  an unknown status (each task's fate is what it was);
* ``after_commit``: drop after commit, delayed answer (committed);
* ``respond``: a garbled 2xx body (not JSON, truncated, cut off, HTML, empty, a 204 or 202,
  ``value`` not a list, entries without ``status``, a false ``Content-Encoding``) or a
  drip-fed one (after commit).

Every fault is counted in ``stats.faults`` by kind (garbled bodies also per way:
``garbled_body.not_json``, ...), and the per-task ones name their tasks in
``stats.fault_tasks`` (``/_emulator/stats?per_task=true``), next to the exact commit count of
every task: what the client was told can always be checked against what happened.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import anyio.lowlevel
import orjson
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ._context import RequestContext
from ._errors import error_object
from ._state import JobRecord, Store

__all__ = [
    "TRANSPORT_EXTENSION",
    "ConnectionDroppedError",
    "DroppedError",
    "Faults",
    "TaskFaultStatus",
]

#: Key under ``scope["extensions"]`` where the emulator's uvicorn protocol puts the transport,
#: so a fault can drop the connection without sending a response.
TRANSPORT_EXTENSION = "batch_tasks_async.emulator.transport"

#: The kind of a per-task fault result: a client error or a server error.
TaskFaultStatus = Literal["client", "server"]


class ConnectionDroppedError(ConnectionError):
    """Raised out of the app by a drop fault when it is served in-process (no socket to drop).

    Under the emulator's own uvicorn runner the connection is aborted instead and the client
    sees a connection error with no HTTP response at all.
    """


class DroppedError(Exception):
    """Internal: the connection has been aborted; send nothing."""


class Faults:
    """Every fault of one emulator, drawn from the store's seeded random generator."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.config = store.config.faults
        faults = self.config
        self._poison = _pattern(faults.poison_task_pattern)
        self._omit = _pattern(faults.omit_result_pattern)
        self._garble_kinds = sorted(faults.garbled_kinds)
        self._shape_kinds = bool(faults.garbled_kinds & _SHAPE_KINDS)
        self._entry_faults = bool(
            faults.omit_result or self._omit or faults.duplicate_result or faults.unknown_status
        )

    def applies_to(self, op: str) -> bool:
        """Whether any fault can fire on operation ``op`` (decided once per route)."""
        return op in self.config.operations and self.config.any_active

    def _roll(self, probability: float) -> bool:
        return probability > 0.0 and self.store.rng.random() < probability

    def _count(self, kind: str) -> None:
        self.store.stats.faults[kind] += 1

    def _note(self, ctx: RequestContext, kind: str, task_id: str) -> None:
        self.store.stats.fault_tasks[kind].add(f"{ctx.path_params.get('job_id', '')}/{task_id}")

    async def on_request(self, ctx: RequestContext) -> None:
        """Added latency and poison tasks, before the handler runs."""
        if not ctx.faults_on:
            return
        if self.config.latency_ms:
            await anyio.sleep(self.config.latency_ms / 1000.0)
        # Read now (the body is kept for the handler) when a fault needs the request's ids.
        needs_ids = self._poison is not None or self.config.commit_late
        ids = await self._task_ids(ctx) if needs_ids else []
        if self._poison is not None:
            poisoned = [i for i in ids if self._poison.fullmatch(i)]
            if poisoned:
                self._count("poison_task")
                for task_id in poisoned:
                    self._note(ctx, "poison_task", task_id)
                raise ctx.error(500, "InternalError")

    async def _task_ids(self, ctx: RequestContext) -> list[str]:
        """The task ids a request names: in its path, or in the body of an add.

        The first call (from ``on_request``, before the handler) reads the body, which
        starlette then keeps for the handler and for later calls.
        """
        in_path = ctx.path_params.get("task_id")
        if in_path is not None:
            return [in_path]
        if ctx.op not in ("task_add", "task_add_collection"):
            return []
        declared = ctx.request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.store.config.max_body_bytes:
            return []  # the handler answers 413
        # starlette keeps the body, so the handler reads the same bytes again.
        try:
            body = orjson.loads(await ctx.request.body())
        except orjson.JSONDecodeError:
            return []  # the handler answers 400
        if not isinstance(body, dict):
            return []
        entries = body.get("value") if ctx.op == "task_add_collection" else [body]
        if not isinstance(entries, list):
            return []
        return [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]

    async def before_commit(self, ctx: RequestContext) -> None:
        """Whole-request faults that fire before anything is committed."""
        if not ctx.faults_on:
            return
        faults = self.config
        retry_after = faults.retry_after_text or str(faults.retry_after)
        if self._roll(faults.throttle_429):
            self._count("throttle_429")
            raise ctx.error(429, "TooManyRequests", headers={"retry-after": retry_after})
        if self._roll(faults.busy_503):
            self._count("busy_503")
            raise ctx.error(503, "ServerBusy", headers={"retry-after": retry_after})
        if self._roll(faults.internal_error_500):
            self._count("internal_error_500")
            raise ctx.error(500, "InternalError")
        if self._roll(faults.drop_before_commit):
            self._count("drop_before_commit")
            await self.drop(ctx)
        if self._roll(faults.commit_late):
            # The client may give up meanwhile; the changes are committed all the same.
            self._count("commit_late")
            for task_id in await self._task_ids(ctx):
                self._note(ctx, "commit_late", task_id)
            await anyio.sleep(faults.commit_late_seconds)

    def admit(self, ctx: RequestContext, job: JobRecord, count: int) -> None:
        """Per-job token bucket in tasks per second (one second of burst)."""
        rate = self.config.job_rate_limit
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
        self._count("job_rate_limit")
        headers = {"retry-after": self.config.retry_after_text or str(wait)}
        if self.config.rate_limit_status == 503:
            raise ctx.error(503, "ServerBusy", headers=headers)
        raise ctx.error(429, "TooManyRequests", headers=headers)

    def task_outcome(self, ctx: RequestContext, task_id: str) -> tuple[str, TaskFaultStatus] | None:
        """An error result ``(code, status)`` replacing the commit of one task, or ``None``."""
        if ctx.faults_on and self._roll(self.config.task_server_error):
            self._count("task_server_error")
            return "ServerBusy", "server"
        return None

    def collection_results(
        self, ctx: RequestContext, results: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The add-collection results as they will be sent: entries left out, listed twice
        (``TaskExists`` before the success) or with an unknown status."""
        if not ctx.faults_on or not self._entry_faults:
            return results
        faults = self.config
        rng = self.store.rng
        sent: list[dict[str, Any]] = []
        for entry in results:
            task_id: str = entry["taskId"]
            if (self._omit is not None and self._omit.fullmatch(task_id)) or self._roll(
                faults.omit_result
            ):
                self._count("omit_result")
                self._note(ctx, "omit_result", task_id)
                continue
            if "eTag" in entry and self._roll(faults.duplicate_result):
                self._count("duplicate_result")
                self._note(ctx, "duplicate_result", task_id)
                sent.append(self._task_exists_entry(ctx, entry))
            if self._roll(faults.unknown_status):
                self._count("unknown_status")
                self._note(ctx, "unknown_status", task_id)
                entry = {**entry, "status": rng.choice(_UNKNOWN_STATUSES)}
            sent.append(entry)
        return sent

    @staticmethod
    def _task_exists_entry(ctx: RequestContext, success: dict[str, Any]) -> dict[str, Any]:
        """The ``TaskExists`` error entry the service would give a second add of the task."""
        task_id = success["taskId"]
        status = "ClientError" if success["status"] == "Success" else "clienterror"
        url = f"{ctx.base_url}/jobs/{ctx.path_params['job_id']}/tasks/{task_id}/error"
        return {
            "error@odata.navigationLinkUrl": url,
            "error": error_object("TaskExists", ctx.request_id),
            "status": status,
            "taskId": task_id,
        }

    async def after_commit(self, ctx: RequestContext) -> None:
        """Faults that fire once the request's changes are committed."""
        if not ctx.faults_on:
            return
        faults = self.config
        if self._roll(faults.drop_after_commit):
            self._count("drop_after_commit")
            await self.drop(ctx)
        if self._roll(faults.delay_after_commit):
            self._count("delay_after_commit")
            await anyio.sleep(faults.delay_after_commit_seconds)

    async def respond(self, ctx: RequestContext, response: Response) -> Response:
        """The response to send for ``ctx``: a 2xx body garbled or drip-fed."""
        faults = self.config
        if not (faults.garbled_body or faults.drip_feed) or not 200 <= response.status_code < 300:
            return response
        body = bytes(response.body)
        if not body:
            return response
        if self._roll(faults.garbled_body):
            parsed = _entries_body(body) if self._shape_kinds else None
            kinds = [k for k in self._garble_kinds if parsed is not None or k not in _SHAPE_KINDS]
            if kinds:
                kind = self.store.rng.choice(kinds)
                self._count("garbled_body")
                self._count(f"garbled_body.{kind}")
                if kind == "cut_off":
                    return _CutOffResponse(response, body)
                response = _garbled(response, body, kind, parsed)
                body = bytes(response.body)
        if body and self._roll(faults.drip_feed):
            self._count("drip_feed")
            response = _drip_fed(response, body, faults.drip_interval)
        return response

    async def drop(self, ctx: RequestContext) -> None:
        """Close the connection without a response (abort the socket under uvicorn)."""
        extensions = ctx.request.scope.get("extensions") or {}
        transport = extensions.get(TRANSPORT_EXTENSION)
        if transport is None:
            raise ConnectionDroppedError("the emulator dropped the connection (fault injection)")
        transport.abort()
        # Let the server see the connection is gone before the app returns.
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        raise DroppedError


#: Status values no version of the spec has.
_UNKNOWN_STATUSES = ("Unknown", "Pending", "")

_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The upstream server sent an invalid response.</p>"
    b"</body></html>"
)


def _pattern(text: str | None) -> re.Pattern[str] | None:
    return None if text is None else re.compile(text, re.IGNORECASE)


def _headers_without_body(response: Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name not in ("content-length", "content-type")
    }


#: Garble kinds that change the shape of a ``{"value": [...]}`` body (other bodies are left
#: to the other kinds).
_SHAPE_KINDS = frozenset({"value_not_list", "missing_status"})


def _entries_body(body: bytes) -> dict[str, Any] | None:
    """``body`` parsed, when it is an object whose ``value`` is a list of objects."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict):
        return None
    value = parsed.get("value")
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        return None
    return parsed


def _garbled(response: Response, body: bytes, kind: str, parsed: dict[str, Any] | None) -> Response:
    """``response`` with its body garbled in way ``kind`` (see ``GARBLE_KINDS``)."""
    headers = _headers_without_body(response)
    content_type = response.headers.get("content-type", "application/json")
    headers["content-type"] = content_type
    status = response.status_code
    content = b""
    if kind == "not_json":
        content = b"this is not JSON {\x00"
    elif kind == "truncated":
        content = body[: max(1, len(body) // 2)]
    elif kind == "html":
        content, headers["content-type"] = _HTML_PAGE, "text/html; charset=utf-8"
    elif kind == "bad_encoding":
        content, headers["content-encoding"] = body, "gzip"  # it is not gzip
    elif kind == "value_not_list" and parsed is not None:
        value = parsed["value"]
        content = orjson.dumps({**parsed, "value": value[0] if value else {}})
    elif kind == "missing_status" and parsed is not None:
        entries = [{k: v for k, v in e.items() if k != "status"} for e in parsed["value"]]
        content = orjson.dumps({**parsed, "value": entries})
    elif kind in ("no_content", "accepted"):
        del headers["content-type"]
        status = 204 if kind == "no_content" else 202
    # "empty": no body, the status kept
    return Response(content, status_code=status, headers=headers)


class _CutOffResponse(Response):
    """The headers (with the full ``Content-Length``) and half the body, then the connection is
    aborted: the client reads a body that ends early."""

    def __init__(self, response: Response, body: bytes) -> None:
        super().__init__(b"", status_code=response.status_code)
        self.raw_headers = list(response.raw_headers)
        self._partial = body[: len(body) // 2]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self._partial, "more_body": True})
        transport = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION)
        if transport is None:
            raise ConnectionDroppedError("the emulator cut the answer off (fault injection)")
        transport.abort()
        for _ in range(3):
            await anyio.lowlevel.checkpoint()


def _drip_fed(response: Response, body: bytes, interval: float) -> Response:
    """``response`` sent one byte every ``interval`` seconds (its ``Content-Length`` kept)."""

    async def drip() -> AsyncIterator[bytes]:
        for i in range(len(body)):
            await anyio.sleep(interval)
            yield body[i : i + 1]

    headers = dict(response.headers.items())
    return StreamingResponse(drip(), status_code=response.status_code, headers=headers)
