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
this module at one of those hooks.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import anyio
import anyio.lowlevel
from starlette.responses import Response

from ._context import RequestContext
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

    def applies_to(self, op: str) -> bool:
        """Whether any fault can fire on operation ``op`` (decided once per route)."""
        return op in self.config.operations and self.config.any_active

    def _roll(self, probability: float) -> bool:
        return probability > 0.0 and self.store.rng.random() < probability

    def _count(self, kind: str) -> None:
        self.store.stats.faults[kind] += 1

    async def on_request(self, ctx: RequestContext) -> None:
        """Added latency, before the handler runs."""
        if ctx.faults_on and self.config.latency_ms:
            await anyio.sleep(self.config.latency_ms / 1000.0)

    async def before_commit(self, ctx: RequestContext) -> None:
        """Whole-request faults that fire before anything is committed."""
        if not ctx.faults_on:
            return
        faults = self.config
        retry_after = str(faults.retry_after)
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
        if self.config.rate_limit_status == 503:
            raise ctx.error(503, "ServerBusy", headers={"retry-after": str(wait)})
        raise ctx.error(429, "TooManyRequests", headers={"retry-after": str(wait)})

    def task_outcome(self, ctx: RequestContext, task_id: str) -> tuple[str, TaskFaultStatus] | None:
        """An error result ``(code, status)`` replacing the commit of one task, or ``None``."""
        if ctx.faults_on and self._roll(self.config.task_server_error):
            self._count("task_server_error")
            return "ServerBusy", "server"
        return None

    def collection_results(
        self, ctx: RequestContext, results: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The add-collection results as they will be sent."""
        return results

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
        """The response to send for ``ctx``."""
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
