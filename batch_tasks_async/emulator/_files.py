"""The simulated files of a task's directory on its (Linux) compute node.

A task that has started has ``stdout.txt``, ``stderr.txt`` and a working directory ``wd``
holding its resource files (at their ``filePath``). The content is derived from the task, so
it is stable and tells a reader what ran: ``stdout.txt`` holds the command line, and once the
task has completed, its exit code; ``stderr.txt`` is empty unless the task failed. Nothing is
stored per task but the paths a client deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LINUX_FILE_MODE", "TaskFile", "content_type_of", "normalize_path", "task_files"]

#: The ``fileMode`` / ``ocp-batch-file-mode`` of a regular file on a Linux node (as recorded).
LINUX_FILE_MODE = "0o100644"
#: The mode of a directory.
LINUX_DIRECTORY_MODE = "0o040755"


class TaskFile:
    """One file or directory of a task's directory."""

    __slots__ = ("content", "created", "is_directory", "modified", "name")

    def __init__(
        self,
        name: str,
        *,
        created: float,
        modified: float,
        content: bytes = b"",
        is_directory: bool = False,
    ) -> None:
        self.name = name
        self.created = created
        self.modified = modified
        self.content = content
        self.is_directory = is_directory

    @property
    def mode(self) -> str:
        """The octal file mode the node reports."""
        return LINUX_DIRECTORY_MODE if self.is_directory else LINUX_FILE_MODE


def content_type_of(name: str) -> str:
    """``text/plain`` for ``.txt`` files (as the service answers), else octet-stream."""
    return "text/plain" if name.lower().endswith(".txt") else "application/octet-stream"


def normalize_path(path: str) -> str | None:
    """A file path as the node names it (``/`` separators, no empty or dot segments);
    ``None`` when the path leaves the task directory or is empty."""
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _stdout(task_id: str, command_line: str, exit_code: int | None, completed: bool) -> bytes:
    lines = [f"[emulator] task {task_id} started: {command_line}"]
    if completed:
        code = "none (terminated)" if exit_code is None else str(exit_code)
        lines.append(f"[emulator] task {task_id} completed, exit code {code}")
    return ("\n".join(lines) + "\n").encode()


def _stderr(task_id: str, exit_code: int | None, failure: Mapping[str, Any] | None) -> bytes:
    if failure is None:
        return b""
    if exit_code is None:
        return f"[emulator] task {task_id} was terminated: {failure.get('message', '')}\n".encode()
    return f"[emulator] task {task_id} failed with exit code {exit_code}\n".encode()


def _resource_paths(resource_files: object) -> tuple[set[str], set[str]]:
    """The (files, directories) the task's resource files put under ``wd``."""
    files: set[str] = set()
    directories: set[str] = set()
    if not isinstance(resource_files, list):
        return files, directories
    for entry in resource_files:
        if not isinstance(entry, Mapping):
            continue
        target = entry.get("filePath")
        path = normalize_path(target) if isinstance(target, str) else None
        if path is None:
            continue
        if entry.get("httpUrl") is not None:
            files.add(path)
        else:
            directories.add(path)
    return files, directories


def task_files(
    *,
    task_id: str,
    body: Mapping[str, Any],
    start_time: float,
    end_time: float | None,
    exit_code: int | None,
    failure_info: Mapping[str, Any] | None,
    deleted: frozenset[str] | set[str],
) -> dict[str, TaskFile]:
    """Every file and directory of a started task, by normalized path, minus ``deleted``
    (a deleted directory takes its contents with it)."""
    command = body.get("commandLine")
    command_line = command if isinstance(command, str) else ""
    completed = end_time is not None
    modified = end_time if end_time is not None else start_time
    out: dict[str, TaskFile] = {
        "stdout.txt": TaskFile(
            "stdout.txt",
            created=start_time,
            modified=modified,
            content=_stdout(task_id, command_line, exit_code, completed),
        ),
        "stderr.txt": TaskFile(
            "stderr.txt",
            created=start_time,
            modified=modified,
            content=_stderr(task_id, exit_code, failure_info),
        ),
        "wd": TaskFile("wd", created=start_time, modified=start_time, is_directory=True),
    }
    files, directories = _resource_paths(body.get("resourceFiles"))
    for path in files | directories:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "wd/" + "/".join(parts[:depth])
            out[parent] = TaskFile(
                parent, created=start_time, modified=start_time, is_directory=True
            )
        name = "wd/" + path
        out[name] = TaskFile(
            name, created=start_time, modified=start_time, is_directory=path not in files
        )
    if deleted:
        out = {
            name: entry
            for name, entry in out.items()
            if not any(name == gone or name.startswith(gone + "/") for gone in deleted)
        }
    return out
