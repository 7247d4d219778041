"""The bulk task submission engine (private; the client wires it into ``client.task``).

A ledger with no I/O (``_ledger``: where every task is; ``_decide``: what every outcome means)
and a thin anyio driver around it (``_reader``, ``_aimd``, ``_run``, ``_stream``).
``add_tasks`` / ``stream_tasks`` take a ``ChunkSender`` ("send one add-collection request"), an
optional ``TaskReader`` (read one task back) and [`BulkOptions`][batch_tasks_async.BulkOptions];
[`BulkRetryPolicy`][batch_tasks_async.BulkRetryPolicy] and
[`BulkProgress`][batch_tasks_async.BulkProgress] are public types re-exported by the package.
"""

from __future__ import annotations

from ._chunker import Chunker
from ._idset import IdSet, id_key
from ._ingest import check_mapping
from ._options import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PROGRESS_INTERVAL,
    MAX_REQUEST_BYTES_LIMIT,
    MAX_TASKS_PER_REQUEST,
    BulkOptions,
    BulkOverrides,
)
from ._policy import BulkRetryPolicy, SleepFunction
from ._progress import BulkProgress, ProgressCallback
from ._run import ChunkSender, ReadBack, TaskInput, TaskReader, add_tasks, judge_read_back
from ._stream import TaskAddStream, stream_tasks

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_PROGRESS_INTERVAL",
    "MAX_REQUEST_BYTES_LIMIT",
    "MAX_TASKS_PER_REQUEST",
    "BulkOptions",
    "BulkOverrides",
    "BulkProgress",
    "BulkRetryPolicy",
    "ChunkSender",
    "Chunker",
    "IdSet",
    "ProgressCallback",
    "ReadBack",
    "SleepFunction",
    "TaskAddStream",
    "TaskInput",
    "TaskReader",
    "add_tasks",
    "check_mapping",
    "id_key",
    "judge_read_back",
    "stream_tasks",
]
