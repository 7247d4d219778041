"""One home for request paths: every URL path the SDK sends is built here.

Each value placed in a path stays inside its segment, on the wire and in the Shared Key
signature:

- a value that a URL normaliser would rewrite (``.`` or ``..``, also once percent-decoded,
  such as ``%2e%2e``) is refused with
  [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError] before anything
  is sent (no valid Batch id is one; httpx would drop such a segment and the request would
  reach the parent resource: ``delete("job-1", "..")`` would delete the job);
- everything else is percent-encoded with nothing left safe (``/``, ``?``, ``#``, ``%`` and
  every non-ASCII character become ``%XX`` escapes of its UTF-8 bytes).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, unquote

from .errors import ClientValidationError

__all__ = [
    "add_task_collection",
    "job",
    "job_task_counts",
    "reactivate_task",
    "segment",
    "subtasks",
    "task",
    "task_file",
    "task_files",
    "tasks",
    "terminate_task",
]

_DOT_SEGMENTS: Final = frozenset({".", ".."})
#: Percent-decoding rounds checked for a hidden dot segment (``%252e`` -> ``%2e`` -> ``.``).
_DECODE_ROUNDS: Final = 4


def _is_dot_segment(value: str) -> bool:
    for _ in range(_DECODE_ROUNDS):
        if value in _DOT_SEGMENTS:
            return True
        decoded = unquote(value)
        if decoded == value:
            return False
        value = decoded
    return value in _DOT_SEGMENTS


def segment(name: str, value: object) -> str:
    """``value`` percent-encoded as one path segment; ``name`` is used in the error.

    Raises:
        ClientValidationError: ``value`` is not a non-empty string, or is a dot segment
            (``.``, ``..``, or one of these percent-encoded).
    """
    if not isinstance(value, str) or not value:
        raise ClientValidationError(f"{name} must be a non-empty string, got {value!r}")
    if _is_dot_segment(value):
        raise ClientValidationError(
            f"{name} {value!r} is not a valid id: a URL would resolve it as a relative path "
            "segment and the request would reach another resource"
        )
    return quote(value, safe="")


def job(job_id: str) -> str:
    """``/jobs/{jobId}``."""
    return f"/jobs/{segment('job_id', job_id)}"


def job_task_counts(job_id: str) -> str:
    """``/jobs/{jobId}/taskcounts``."""
    return f"{job(job_id)}/taskcounts"


def tasks(job_id: str) -> str:
    """``/jobs/{jobId}/tasks``: add one task, list tasks."""
    return f"{job(job_id)}/tasks"


def add_task_collection(job_id: str) -> str:
    """``/jobs/{jobId}/addtaskcollection``."""
    return f"{job(job_id)}/addtaskcollection"


def task(job_id: str, task_id: str) -> str:
    """``/jobs/{jobId}/tasks/{taskId}``: get, update, delete."""
    return f"{tasks(job_id)}/{segment('task_id', task_id)}"


def subtasks(job_id: str, task_id: str) -> str:
    """``/jobs/{jobId}/tasks/{taskId}/subtasksinfo``."""
    return f"{task(job_id, task_id)}/subtasksinfo"


def terminate_task(job_id: str, task_id: str) -> str:
    """``/jobs/{jobId}/tasks/{taskId}/terminate``."""
    return f"{task(job_id, task_id)}/terminate"


def reactivate_task(job_id: str, task_id: str) -> str:
    """``/jobs/{jobId}/tasks/{taskId}/reactivate``."""
    return f"{task(job_id, task_id)}/reactivate"


def task_files(job_id: str, task_id: str) -> str:
    """``/jobs/{jobId}/tasks/{taskId}/files``: list a task's files."""
    return f"{task(job_id, task_id)}/files"


def task_file(job_id: str, task_id: str, file_path: str) -> str:
    """``/jobs/{jobId}/tasks/{taskId}/files/{filePath}``.

    ``file_path`` is relative to the task's directory (``wd/out.txt``; a leading or trailing
    ``/`` is dropped). It may have several ``/``-separated segments, as the REST API allows;
    each is percent-encoded on its own, and none may be empty, ``.`` or ``..`` (also once
    percent-decoded), so the path cannot leave the task's files.

    Raises:
        ClientValidationError: ``file_path`` is not a non-empty string, or has an empty or
            dot segment.
    """
    if not isinstance(file_path, str) or not file_path.strip("/"):
        raise ClientValidationError(f"file_path must be a non-empty path, got {file_path!r}")
    parts = file_path.strip("/").split("/")
    for part in parts:
        if not part:
            raise ClientValidationError(
                f"file_path {file_path!r} has an empty segment ('//'); write each directory once"
            )
        if _is_dot_segment(part):
            raise ClientValidationError(
                f"file_path {file_path!r} has the segment {part!r}: a URL would resolve it as a "
                "relative path segment and the request would reach another resource"
            )
    encoded = "/".join(quote(part, safe="") for part in parts)
    return f"{task_files(job_id, task_id)}/{encoded}"
