"""Handlers of the Job operations the Task API needs (add, get, delete, list)."""

from __future__ import annotations

from starlette.responses import Response

from ._conditions import check_conditions
from ._context import RequestContext
from ._faults import Faults
from ._filter import JOB_PROPERTIES
from ._query import paginate, parse_list_options, parse_select, select_fields
from ._responses import empty_response, entity_headers, json_response
from ._state import Store
from ._validate import job_problem

__all__ = ["JobHandlers"]


class JobHandlers:
    """The job endpoints of one emulator."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.config = store.config
        self.faults = faults

    async def add(self, ctx: RequestContext) -> Response:
        body = await ctx.read_object(self.config.max_body_bytes)
        problem = job_problem(body)
        if problem is not None:
            raise ctx.error(400, problem[0], values=problem[1])
        await self.faults.before_commit(ctx)
        job = self.store.add_job(body)
        if job is None:
            raise ctx.error(409, "JobExists")
        await self.faults.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}"
        return empty_response(
            201, entity_headers(job.etag, job.last_modified, url=url, created=True)
        )

    async def get(self, ctx: RequestContext) -> Response:
        job = ctx.job_or_404(self.store)
        check_conditions(ctx, job.etag, job.last_modified, read=True)
        select = parse_select(ctx)
        await self.faults.before_commit(ctx)
        body = {"odata.metadata": f"{ctx.base_url}/$metadata#jobs/@Element"}
        body.update(select_fields(self.store.job_wire(job, ctx.base_url), select))
        await self.faults.after_commit(ctx)
        return json_response(200, body, entity_headers(job.etag, job.last_modified))

    async def delete(self, ctx: RequestContext) -> Response:
        job = ctx.job_or_404(self.store)
        check_conditions(ctx, job.etag, job.last_modified, read=False)
        await self.faults.before_commit(ctx)
        self.store.delete_job(job)
        await self.faults.after_commit(ctx)
        return empty_response(202, {})

    async def list(self, ctx: RequestContext) -> Response:
        store = self.store
        options = parse_list_options(ctx, JOB_PROPERTIES, self.config.max_results, expandable=False)
        await self.faults.before_commit(ctx)
        base = ctx.base_url
        body = paginate(
            ctx,
            options,
            store.iter_jobs(options.after),
            lambda job: store.job_wire(job, base),
            path="/jobs",
            metadata="jobs",
        )
        await self.faults.after_commit(ctx)
        return json_response(200, body)
