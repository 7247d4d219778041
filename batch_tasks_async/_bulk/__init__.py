"""The bulk task submission engine (private; the client wires it into ``client.task``).

``add_tasks`` / ``stream_tasks`` take a :class:`ChunkSender` ("send one add-collection
request") plus the tasks and options; :class:`BulkRetryPolicy` and :class:`BulkProgress` are
public types re-exported by the package.
"""

from __future__ import annotations

from ._chunker import Chunker
from ._engine import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PROGRESS_INTERVAL,
    MAX_REQUEST_BYTES_LIMIT,
    MAX_TASKS_PER_REQUEST,
    ChunkSender,
    TaskAddStream,
    TaskInput,
    add_tasks,
    stream_tasks,
)
from ._idset import IdSet
from ._policy import BulkRetryPolicy, SleepFunction
from ._progress import BulkProgress, ProgressCallback

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_PROGRESS_INTERVAL",
    "MAX_REQUEST_BYTES_LIMIT",
    "MAX_TASKS_PER_REQUEST",
    "BulkProgress",
    "BulkRetryPolicy",
    "ChunkSender",
    "Chunker",
    "IdSet",
    "ProgressCallback",
    "SleepFunction",
    "TaskAddStream",
    "TaskInput",
    "add_tasks",
    "stream_tasks",
]
