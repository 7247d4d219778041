"""In-memory jobs and tasks, the task lifecycle and the statistics.

Tasks are kept as the wire-format dict the client sent plus a few slots; the full body the
service would return (defaults, state, executionInfo...) is built only when a task is read,
so adding a task costs a dict insert and little else.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from ._config import EmulatorConfig
from ._files import TaskFile, task_files
from ._lifecycle import Schedule, exit_code_of

__all__ = ["JobRecord", "Stats", "Store", "TaskRecord", "exit_code_of", "iso", "valid_id"]

MAX_TIMESPAN = "P10675199DT2H48M5.4775807S"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def valid_id(value: object) -> bool:
    """Batch ids: 1 to 64 letters, digits, hyphens and underscores."""
    return isinstance(value, str) and 0 < len(value) <= 64 and all(ch in _ID_CHARS for ch in value)


def iso(ts: float) -> str:
    """Batch's timestamp format: ``2025-02-13T23:25:33.836562Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def http_date(ts: float) -> str:
    """RFC 1123 date for ``Last-Modified`` / ``Date``."""
    return formatdate(ts, usegmt=True)


class TaskRecord:
    """One task: the body as sent plus lifecycle slots."""

    __slots__ = (
        "body",
        "created",
        "due",
        "end_time",
        "etag",
        "exit_code",
        "failure_info",
        "id",
        "last_modified",
        "prev_state",
        "prev_state_time",
        "start_time",
        "state",
        "state_time",
    )

    def __init__(self, body: dict[str, Any], now: float, etag: str) -> None:
        self.id: str = body["id"]
        self.body = body
        self.created = now
        self.last_modified = now
        self.etag = etag
        self.state = "active"
        self.state_time = now
        self.prev_state: str | None = None
        self.prev_state_time: float | None = None
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.exit_code: int | None = None
        self.failure_info: dict[str, Any] | None = None
        #: When the automatic lifecycle moves the task on (computed when first needed).
        self.due: float | None = None

    def move(self, state: str, at: float) -> None:
        self.due = None
        self.prev_state = self.state
        self.prev_state_time = self.state_time
        self.state = state
        self.state_time = at

    @property
    def failed(self) -> bool:
        """Completed with a failure (non-zero exit code or failure information)."""
        return self.state == "completed" and (
            self.failure_info is not None or (self.exit_code or 0) != 0
        )


class JobRecord:
    """One job and its tasks (keyed by lowercased id; the given case is kept in the body)."""

    __slots__ = (
        "body",
        "bucket_time",
        "bucket_tokens",
        "created",
        "deleted_files",
        "etag",
        "id",
        "last_modified",
        "sorted_keys",
        "tasks",
    )

    def __init__(self, body: dict[str, Any], now: float, etag: str) -> None:
        self.id: str = body["id"]
        self.body = body
        self.created = now
        self.last_modified = now
        self.etag = etag
        self.tasks: dict[str, TaskRecord] = {}
        #: Task files a client deleted, by task key (only tasks with deletions have an entry).
        self.deleted_files: dict[str, set[str]] = {}
        self.sorted_keys: list[str] | None = None
        self.bucket_tokens: float | None = None
        self.bucket_time = now

    @property
    def max_task_retry_count(self) -> int:
        constraints = self.body.get("constraints")
        if isinstance(constraints, Mapping):
            value = constraints.get("maxTaskRetryCount", 0)
            if isinstance(value, int):
                return value
        return 0

    @property
    def uses_task_dependencies(self) -> bool:
        """Whether the job was created with ``usesTaskDependencies: true``."""
        return self.body.get("usesTaskDependencies") is True

    def keys_sorted(self) -> list[str]:
        """Task keys in the service's list order (case-insensitive id order), cached."""
        if self.sorted_keys is None:
            self.sorted_keys = sorted(self.tasks)
        return self.sorted_keys


class Stats:
    """Counters read by ``GET /_emulator/stats`` and by tests and benchmarks."""

    def __init__(self) -> None:
        self.tasks_committed = 0
        self.tasks_committed_per_job: Counter[str] = Counter()
        self.task_commit_counts: Counter[tuple[str, str]] = Counter()
        self.duplicate_add_attempts = 0
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.started = time.time()

    def snapshot(self, *, per_task: bool = False) -> dict[str, Any]:
        more_than_once = [
            f"{job}/{task}" for (job, task), n in self.task_commit_counts.items() if n > 1
        ]
        snap: dict[str, Any] = {
            "tasks_committed": self.tasks_committed,
            "tasks_committed_per_job": dict(self.tasks_committed_per_job),
            "distinct_tasks_committed": len(self.task_commit_counts),
            "tasks_committed_more_than_once": len(more_than_once),
            "tasks_committed_more_than_once_sample": sorted(more_than_once)[:100],
            "duplicate_add_attempts": self.duplicate_add_attempts,
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "faults": dict(self.faults),
            "faults_total": sum(self.faults.values()),
            "uptime_seconds": round(time.time() - self.started, 3),
        }
        if per_task:
            per_job: dict[str, dict[str, int]] = defaultdict(dict)
            for (job, task), n in self.task_commit_counts.items():
                per_job[job][task] = n
            snap["task_commit_counts"] = dict(per_job)
        return snap


class Store:
    """All state of one emulator. Handlers run on one event loop; ``lock`` guards against the
    other threads (tests, benchmarks) that read statistics or create jobs in-process."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.rng = random.Random(config.faults.seed)
        self.jobs: dict[str, JobRecord] = {}
        self.stats = Stats()
        self._etag_counter = 0
        self._clock_offset = 0.0
        self.schedule = Schedule(config)
        for job_id in config.jobs:
            self.add_job({"id": job_id, "poolInfo": {"poolId": "emulator-pool"}})

    # -- clock and etags -------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's clock: wall time plus every ``advance_clock``."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock ``seconds`` forward (tasks run on it); the new time."""
        if not seconds >= 0 or seconds == float("inf"):
            raise ValueError(f"seconds must be finite and >= 0, not {seconds!r}")
        with self.lock:
            self._clock_offset += seconds
        return self.now()

    def next_etag(self, now: float | None = None) -> str:
        """A fresh ETag, ``0x8D`` and 13 hex digits like the service's (strictly increasing)."""
        ticks = int((now if now is not None else time.time()) * 10_000_000)
        self._etag_counter = max(self._etag_counter + 1, ticks)
        return f"0x8D{self._etag_counter & 0xFFFFFFFFFFFFF:013X}"

    def reset(self) -> None:
        """Forget every job, task and counter; re-create the configured jobs."""
        with self.lock:
            self.jobs.clear()
            self.stats = Stats()
            self.rng = random.Random(self.config.faults.seed)
            for job_id in self.config.jobs:
                self.add_job({"id": job_id, "poolInfo": {"poolId": "emulator-pool"}})

    # -- jobs --------------------------------------------------------------------------------

    def add_job(self, body: dict[str, Any]) -> JobRecord | None:
        """Add a job; ``None`` when one with that id (case-insensitively) exists."""
        with self.lock:
            key = body["id"].lower()
            if key in self.jobs:
                return None
            job = JobRecord(body, self.now(), self.next_etag())
            self.jobs[key] = job
            return job

    def get_job(self, job_id: str) -> JobRecord | None:
        return self.jobs.get(job_id.lower())

    def delete_job(self, job: JobRecord) -> None:
        """Forget ``job`` and its tasks."""
        with self.lock:
            self.jobs.pop(job.id.lower(), None)

    def iter_jobs(self, after: str | None) -> Iterator[tuple[str, JobRecord]]:
        """Jobs in list order (case-insensitive id order), starting after the key ``after``."""
        jobs = self.jobs
        for key in sorted(jobs):
            if after is not None and key <= after:
                continue
            job = jobs.get(key)
            if job is not None:
                yield key, job

    # -- tasks -------------------------------------------------------------------------------

    def commit_task(self, job: JobRecord, body: dict[str, Any], now: float) -> TaskRecord:
        """Store a validated task body in ``job`` (the caller holds ``lock``) and count it."""
        record = TaskRecord(body, now, self.next_etag(now))
        job.tasks[record.id.lower()] = record
        if job.sorted_keys is not None:
            job.sorted_keys = None
        stats = self.stats
        stats.tasks_committed += 1
        stats.tasks_committed_per_job[job.id] += 1
        stats.task_commit_counts[(job.id, record.id)] += 1
        return record

    def has_task(self, job: JobRecord, task_id: str) -> bool:
        """Whether ``job`` holds a task ``task_id`` (case-insensitively)."""
        return task_id.lower() in job.tasks

    def update_task(self, task: TaskRecord, constraints: dict[str, Any] | None) -> None:
        """Replace the task's constraints (``None`` restores the defaults) and touch it."""
        with self.lock:
            new_body = dict(task.body)
            if constraints is None:
                new_body.pop("constraints", None)
            else:
                new_body["constraints"] = constraints
            task.body = new_body
            now = self.now()
            task.etag = self.next_etag(now)
            task.last_modified = now

    def delete_task(self, job: JobRecord, task: TaskRecord) -> None:
        """Forget ``task``."""
        with self.lock:
            key = task.id.lower()
            job.tasks.pop(key, None)
            job.deleted_files.pop(key, None)
            job.sorted_keys = None

    # -- task files --------------------------------------------------------------------------

    def task_files(self, job: JobRecord, task: TaskRecord) -> dict[str, TaskFile] | None:
        """The files of ``task``'s directory by path; ``None`` before the task has started."""
        if task.start_time is None:
            return None
        return task_files(
            task_id=task.id,
            body=task.body,
            start_time=task.start_time,
            end_time=task.end_time,
            exit_code=task.exit_code,
            failure_info=task.failure_info,
            deleted=job.deleted_files.get(task.id.lower(), frozenset()),
        )

    def delete_task_file(self, job: JobRecord, task: TaskRecord, path: str) -> None:
        """Delete the file or directory ``path`` (normalized) of ``task``."""
        with self.lock:
            job.deleted_files.setdefault(task.id.lower(), set()).add(path)

    # -- lifecycle ---------------------------------------------------------------------------

    def settle(self, job: JobRecord, task: TaskRecord, now: float | None = None) -> None:
        """Move ``task`` along the configured lifecycle up to ``now``."""
        if task.state == "completed":
            return
        mode = self.schedule.mode
        if mode == "manual":
            return
        at = now if now is not None else self.now()
        if mode == "instant":
            if task.state == "active":
                self._start(task, at)
            self._complete(job, task, at)
            return
        while True:
            due = task.due
            if due is None:
                due = task.state_time + self.schedule.phase_seconds(job.id, task.id, task.state)
                task.due = due
            if at < due:
                return
            if task.state == "active":
                self._start(task, due)
            else:
                self._complete(job, task, due)
                return

    def _start(self, task: TaskRecord, at: float) -> None:
        task.move("running", at)
        task.start_time = at

    def _complete(self, job: JobRecord, task: TaskRecord, at: float) -> None:
        task.move("completed", at)
        task.end_time = at
        code = self.schedule.exit_code(job.id, task.id, task.body.get("commandLine"))
        task.exit_code = code
        if code != 0:
            task.failure_info = {
                "category": "UserError",
                "code": "FailureExitCode",
                "message": "The task exited with an exit code representing a failure",
                "details": [
                    {
                        "name": "Message",
                        "value": "The task process exited with an unexpected exit code",
                    },
                    {"name": "AdditionalErrorCode", "value": "FailureExitCode"},
                ],
            }

    def advance(self, job: JobRecord, task: TaskRecord, target: str) -> None:
        """Manually move a task to ``running`` or ``completed`` (the manual lifecycle)."""
        now = self.now()
        if target not in ("running", "completed"):
            raise ValueError("target must be 'running' or 'completed'")
        if task.state == "completed":
            raise ValueError(f"task {task.id!r} is already completed")
        if task.state == "active":
            self._start(task, now)
        if target == "completed":
            self._complete(job, task, now)
        task.last_modified = now

    def terminate(self, task: TaskRecord) -> None:
        """Complete ``task`` with ``failureInfo`` ``TaskEnded``."""
        with self.lock:
            self._terminate(task)

    def _terminate(self, task: TaskRecord) -> None:
        now = self.now()
        task.move("completed", now)
        task.end_time = now
        task.exit_code = None
        task.failure_info = {
            "category": "UserError",
            "code": "TaskEnded",
            "message": "Task Was Ended by User Request",
        }
        task.etag = self.next_etag()
        task.last_modified = now

    def reactivate(self, job: JobRecord, task: TaskRecord) -> None:
        """Put a completed task back to ``active``, forgetting how it ran (and its files)."""
        with self.lock:
            job.deleted_files.pop(task.id.lower(), None)
            self._reactivate(task)

    def _reactivate(self, task: TaskRecord) -> None:
        now = self.now()
        task.move("active", now)
        task.start_time = task.end_time = None
        task.exit_code = None
        task.failure_info = None
        task.etag = self.next_etag()
        task.last_modified = now

    # -- wire format -------------------------------------------------------------------------

    def task_wire(
        self, job: JobRecord, task: TaskRecord, base_url: str, *, stats: bool = False
    ) -> dict[str, Any]:
        """The task as the service returns it (without ``odata.metadata``)."""
        body = task.body
        out: dict[str, Any] = {
            "id": task.id,
            "url": f"{base_url}/jobs/{job.id}/tasks/{task.id}",
            "eTag": task.etag,
            "creationTime": iso(task.created),
            "lastModified": iso(task.last_modified),
            "state": task.state,
            "stateTransitionTime": iso(task.state_time),
        }
        if task.prev_state is not None and task.prev_state_time is not None:
            out["previousState"] = task.prev_state
            out["previousStateTransitionTime"] = iso(task.prev_state_time)
        for key, value in body.items():
            if key not in ("id", "constraints"):
                out[key] = value
        if "userIdentity" not in out:
            out["userIdentity"] = {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}
        out["constraints"] = self.constraints_for(job, body.get("constraints"))
        out.setdefault("requiredSlots", 1)
        out["executionInfo"] = self._execution_info(job, task)
        if task.start_time is not None:
            out["nodeInfo"] = {
                "affinityId": "TVM:emulator-node-0",
                "nodeUrl": f"{base_url}/pools/emulator-pool/nodes/emulator-node-0",
                "poolId": "emulator-pool",
                "nodeId": "emulator-node-0",
                "taskRootDirectory": f"workitems/{job.id}/job-1/{task.id}",
                "taskRootDirectoryUrl": (
                    f"{base_url}/pools/emulator-pool/nodes/emulator-node-0/files/"
                    f"workitems/{job.id}/job-1/{task.id}"
                ),
            }
        if stats:
            out["stats"] = self._task_stats(job, task, base_url)
        return out

    def constraints_for(self, job: JobRecord, given: object) -> dict[str, Any]:
        constraints: dict[str, Any] = {
            "maxWallClockTime": MAX_TIMESPAN,
            "retentionTime": "P7D",
            "maxTaskRetryCount": job.max_task_retry_count,
        }
        if isinstance(given, Mapping):
            constraints.update({k: v for k, v in given.items() if v is not None})
        return constraints

    def _execution_info(self, job: JobRecord, task: TaskRecord) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if task.start_time is not None:
            info["startTime"] = iso(task.start_time)
        if task.end_time is not None:
            info["endTime"] = iso(task.end_time)
        if task.exit_code is not None:
            info["exitCode"] = task.exit_code
        if task.failure_info is not None:
            info["failureInfo"] = task.failure_info
        if task.state == "completed":
            info["result"] = "failure" if task.failed else "success"
        retries = 0
        if task.failed and task.exit_code is not None:
            limit = self.constraints_for(job, task.body.get("constraints"))["maxTaskRetryCount"]
            retries = limit if isinstance(limit, int) and limit > 0 else 0
        info["retryCount"] = retries
        info["requeueCount"] = 0
        return info

    def _task_stats(self, job: JobRecord, task: TaskRecord, base_url: str) -> dict[str, Any]:
        wall = 0.0
        if task.start_time is not None:
            wall = (task.end_time or self.now()) - task.start_time
        return {
            "url": f"{base_url}/jobs/{job.id}/tasks/{task.id}",
            "startTime": iso(task.created),
            "lastUpdateTime": iso(task.last_modified),
            "userCPUTime": "PT0S",
            "kernelCPUTime": "PT0S",
            "wallClockTime": f"PT{wall:.3f}S",
            "readIOps": "0",
            "writeIOps": "0",
            "readIOGiB": 0.0,
            "writeIOGiB": 0.0,
            "waitTime": "PT0S",
        }

    def subtasks_wire(
        self, job: JobRecord, task: TaskRecord, base_url: str
    ) -> list[dict[str, Any]]:
        """Subtasks 1..N-1 of a multi-instance task that has started (the primary is the task)."""
        settings = task.body.get("multiInstanceSettings")
        if not isinstance(settings, Mapping) or task.start_time is None:
            return []
        count = settings.get("numberOfInstances", 1)
        if not isinstance(count, int) or count < 2:
            return []
        out = []
        for n in range(1, count):
            sub: dict[str, Any] = {"id": n, "startTime": iso(task.start_time)}
            if task.state == "completed" and task.end_time is not None:
                sub["endTime"] = iso(task.end_time)
                sub["state"] = "completed"
                sub["stateTransitionTime"] = iso(task.end_time)
                sub["previousState"] = "running"
                sub["previousStateTransitionTime"] = iso(task.start_time)
                sub["result"] = "success"
                sub["exitCode"] = 0
            else:
                sub["state"] = "running"
                sub["stateTransitionTime"] = iso(task.start_time)
            sub["nodeInfo"] = {
                "affinityId": f"TVM:emulator-node-{n}",
                "nodeUrl": f"{base_url}/pools/emulator-pool/nodes/emulator-node-{n}",
                "poolId": "emulator-pool",
                "nodeId": f"emulator-node-{n}",
            }
            out.append(sub)
        return out

    def job_wire(self, job: JobRecord, base_url: str) -> dict[str, Any]:
        """The job as the service returns it (without ``odata.metadata``)."""
        out: dict[str, Any] = {
            "id": job.id,
            "url": f"{base_url}/jobs/{job.id}",
            "eTag": job.etag,
            "lastModified": iso(job.last_modified),
            "creationTime": iso(job.created),
            "state": "active",
            "stateTransitionTime": iso(job.created),
            "priority": 0,
            "maxParallelTasks": -1,
            "allowTaskPreemption": False,
            "usesTaskDependencies": False,
            "onAllTasksComplete": "noaction",
            "onTaskFailure": "noaction",
        }
        for key, value in job.body.items():
            if key not in ("id", "constraints"):
                out[key] = value
        constraints = {"maxWallClockTime": MAX_TIMESPAN, "maxTaskRetryCount": 0}
        given = job.body.get("constraints")
        if isinstance(given, Mapping):
            constraints.update(given)
        out["constraints"] = constraints
        pool = out.get("poolInfo")
        pool_id = pool.get("poolId", "") if isinstance(pool, Mapping) else ""
        out["executionInfo"] = {"startTime": iso(job.created), "poolId": pool_id}
        return out

    def iter_tasks(self, job: JobRecord, after: str | None) -> Iterator[tuple[str, TaskRecord]]:
        """Tasks in list order, starting after the key ``after``."""
        keys = job.keys_sorted()
        start = bisect.bisect_right(keys, after) if after is not None else 0
        tasks = job.tasks
        for key in keys[start:]:
            task = tasks.get(key)
            if task is not None:
                yield key, task

    def counts(self, job: JobRecord) -> tuple[dict[str, int], dict[str, int]]:
        """The job's task counts and task slot counts (``GET /jobs/{job}/taskcounts``)."""
        now = self.now()
        counts = {"active": 0, "running": 0, "completed": 0, "succeeded": 0, "failed": 0}
        slots = dict.fromkeys(counts, 0)
        for task in job.tasks.values():
            self.settle(job, task, now)
            n = task.body.get("requiredSlots", 1)
            n = n if isinstance(n, int) else 1
            state = task.state
            counts[state] += 1
            slots[state] += n
            if state == "completed":
                outcome = "failed" if task.failed else "succeeded"
                counts[outcome] += 1
                slots[outcome] += n
        return counts, slots

    def find_task(self, job_id: str, task_id: str) -> tuple[JobRecord, TaskRecord]:
        """In-process lookup used by the handle; raises ``KeyError``."""
        job = self.jobs[job_id.lower()]
        return job, job.tasks[task_id.lower()]
