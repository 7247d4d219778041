"""Handlers of the Task operations (add, add collection, get, update, delete, list, subtasks,
terminate, reactivate) and of the job's task counts."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ._conditions import check_conditions
from ._context import RequestContext
from ._errors import error_object
from ._faults import Faults
from ._filter import TASK_PROPERTIES
from ._query import paginate, parse_expand, parse_list_options, parse_select, select_fields
from ._responses import empty_response, entity_headers, json_response
from ._state import JobRecord, Store, TaskRecord, iso
from ._validate import Problem, constraints_problem, task_problem

__all__ = ["TaskHandlers"]


class TaskHandlers:
    """The task endpoints of one emulator."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.config = store.config
        self.faults = faults

    def _settled(self, ctx: RequestContext) -> tuple[JobRecord, TaskRecord]:
        job, task = ctx.task_or_404(self.store)
        self.store.settle(job, task)
        return job, task

    @staticmethod
    def _raise(ctx: RequestContext, problem: Problem | None) -> None:
        if problem is not None:
            raise ctx.error(400, problem[0], values=problem[1])

    async def add(self, ctx: RequestContext) -> Response:
        store = self.store
        job = ctx.job_or_404(store)
        task = await ctx.read_object(self.config.max_body_bytes)
        self._raise(ctx, task_problem(task, uses_dependencies=job.uses_task_dependencies))
        await self.faults.before_commit(ctx)
        self.faults.admit(ctx, job, 1)
        with store.lock:
            if store.has_task(job, task["id"]):
                store.stats.duplicate_add_attempts += 1
                raise ctx.error(409, "TaskExists")
            record = store.commit_task(job, task, store.now())
        await self.faults.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}/tasks/{record.id}"
        return empty_response(
            201, entity_headers(record.etag, record.last_modified, url=url, created=True)
        )

    async def add_collection(self, ctx: RequestContext) -> Response:
        store = self.store
        job = ctx.job_or_404(store)
        body = await ctx.read_json(self.config.max_body_bytes)
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
        faults = self.faults
        await faults.before_commit(ctx)
        faults.admit(ctx, job, len(values))
        pascal = self.config.status_casing == "pascal"
        success = "Success" if pascal else "success"
        statuses = {
            "client": "ClientError" if pascal else "clienterror",
            "server": "ServerError" if pascal else "servererror",
        }
        tasks_url = f"{ctx.base_url}/jobs/{job.id}/tasks/"
        results: list[dict[str, Any]] = []
        with store.lock:
            now = store.now()
            last_modified = iso(now)
            stats = store.stats
            uses_dependencies = job.uses_task_dependencies
            for task in values:
                task_id: str = task["id"]
                problem = task_problem(task, uses_dependencies=uses_dependencies)
                status = "client"
                if problem is None and store.has_task(job, task_id):
                    problem = ("TaskExists", ())
                    stats.duplicate_add_attempts += 1
                if problem is None:
                    fault = faults.task_outcome(ctx, task_id)
                    if fault is not None:
                        problem, status = (fault[0], ()), fault[1]
                if problem is None:
                    record = store.commit_task(job, task, now)
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
                    code, error_values = problem
                    results.append(
                        {
                            "error@odata.navigationLinkUrl": f"{tasks_url}{task_id}/error",
                            "error": error_object(code, ctx.request_id, values=error_values),
                            "status": statuses[status],
                            "taskId": task_id,
                        }
                    )
            if self.config.shuffle_results and len(results) > 1:
                store.rng.shuffle(results)
        results = faults.collection_results(ctx, results)
        await faults.after_commit(ctx)
        return json_response(
            200, {"odata.metadata": f"{ctx.base_url}/$metadata#taskaddresult", "value": results}
        )

    async def get(self, ctx: RequestContext) -> Response:
        job, task = self._settled(ctx)
        check_conditions(ctx, task.etag, task.last_modified, read=True)
        select = parse_select(ctx)
        expand = parse_expand(ctx)
        await self.faults.before_commit(ctx)
        body = {"odata.metadata": f"{ctx.base_url}/$metadata#tasks/@Element"}
        wire = self.store.task_wire(job, task, ctx.base_url, stats=expand)
        body.update(select_fields(wire, select))
        await self.faults.after_commit(ctx)
        return json_response(200, body, entity_headers(task.etag, task.last_modified))

    async def update(self, ctx: RequestContext) -> Response:
        job, task = self._settled(ctx)
        check_conditions(ctx, task.etag, task.last_modified, read=False)
        body = await ctx.read_object(self.config.max_body_bytes)
        self._raise(ctx, constraints_problem(body))
        if task.state == "completed":
            raise ctx.error(409, "TaskCompleted")
        await self.faults.before_commit(ctx)
        self.store.update_task(task, body.get("constraints"))
        await self.faults.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}/tasks/{task.id}"
        return empty_response(200, entity_headers(task.etag, task.last_modified, url=url))

    async def delete(self, ctx: RequestContext) -> Response:
        job, task = ctx.task_or_404(self.store)
        check_conditions(ctx, task.etag, task.last_modified, read=False)
        await self.faults.before_commit(ctx)
        self.store.delete_task(job, task)
        await self.faults.after_commit(ctx)
        return empty_response(200, {})

    async def terminate(self, ctx: RequestContext) -> Response:
        job, task = self._settled(ctx)
        check_conditions(ctx, task.etag, task.last_modified, read=False)
        if task.state == "completed":
            raise ctx.error(409, "TaskCompleted")
        await self.faults.before_commit(ctx)
        self.store.terminate(task)
        await self.faults.after_commit(ctx)
        url = f"{ctx.base_url}/jobs/{job.id}/tasks/{task.id}/terminate"
        return empty_response(204, entity_headers(task.etag, task.last_modified, url=url))

    async def reactivate(self, ctx: RequestContext) -> Response:
        job, task = self._settled(ctx)
        check_conditions(ctx, task.etag, task.last_modified, read=False)
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
        await self.faults.before_commit(ctx)
        self.store.reactivate(job, task)
        await self.faults.after_commit(ctx)
        return empty_response(204, entity_headers(task.etag, task.last_modified))

    async def list(self, ctx: RequestContext) -> Response:
        store = self.store
        job = ctx.job_or_404(store)
        options = parse_list_options(ctx, TASK_PROPERTIES, self.config.max_results, expandable=True)
        await self.faults.before_commit(ctx)
        base = ctx.base_url
        now = store.now()
        expand = options.expand

        def to_wire(task: TaskRecord) -> dict[str, Any]:
            store.settle(job, task, now)
            return store.task_wire(job, task, base, stats=expand)

        body = paginate(
            ctx,
            options,
            store.iter_tasks(job, options.after),
            to_wire,
            path=f"/jobs/{job.id}/tasks",
            metadata="tasks",
        )
        await self.faults.after_commit(ctx)
        return json_response(200, body)

    async def list_subtasks(self, ctx: RequestContext) -> Response:
        job, task = self._settled(ctx)
        select = parse_select(ctx)
        await self.faults.before_commit(ctx)
        value = [
            select_fields(s, select) for s in self.store.subtasks_wire(job, task, ctx.base_url)
        ]
        await self.faults.after_commit(ctx)
        return json_response(
            200, {"odata.metadata": f"{ctx.base_url}/$metadata#subtaskinfo", "value": value}
        )

    async def counts(self, ctx: RequestContext) -> Response:
        job = ctx.job_or_404(self.store)
        await self.faults.before_commit(ctx)
        counts, slots = self.store.counts(job)
        await self.faults.after_commit(ctx)
        return json_response(
            200,
            {
                "odata.metadata": f"{ctx.base_url}/$metadata#taskcountsresult/@Element",
                "taskCounts": counts,
                "taskSlotCounts": slots,
            },
        )
