"""Printing tasks: a rich table or JSON Lines."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any, BinaryIO

import orjson
from rich.console import Console
from rich.table import Table

from .._serialization import dumps
from ..models import CloudTask, SubtaskInformation

__all__ = [
    "print_json",
    "stderr_console",
    "stdout_console",
    "subtask_table",
    "task_table",
    "write_jsonl",
]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="seconds"))
    return str(value)


def task_table(tasks: Sequence[CloudTask]) -> Table:
    """A table of tasks: id, state, exit code, creation time and command line."""
    table = Table(show_header=True, header_style="bold", show_lines=False)
    table.add_column("id", overflow="fold")
    table.add_column("state")
    table.add_column("exit code", justify="right")
    table.add_column("created")
    table.add_column("command line", overflow="fold")
    for task in tasks:
        info = task.execution_info
        table.add_row(
            _text(task.id),
            _text(task.state.value if task.state is not None else None),
            _text(info.exit_code if info is not None else None),
            _text(task.creation_time),
            _text(task.command_line),
        )
    return table


def subtask_table(subtasks: Sequence[SubtaskInformation]) -> Table:
    """A table of subtasks: id, state, exit code, node and start time."""
    table = Table(show_header=True, header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("state")
    table.add_column("exit code", justify="right")
    table.add_column("node")
    table.add_column("started")
    for sub in subtasks:
        table.add_row(
            _text(sub.id),
            _text(sub.state.value if sub.state is not None else None),
            _text(sub.exit_code),
            _text(sub.node_info.node_id if sub.node_info is not None else None),
            _text(sub.start_time),
        )
    return table


def _stdout_bytes() -> BinaryIO:
    """Standard output as a binary stream (text written before is flushed first)."""
    sys.stdout.flush()
    buffer: BinaryIO = sys.stdout.buffer
    return buffer


async def write_jsonl(items: AsyncIterator[CloudTask] | AsyncIterator[SubtaskInformation]) -> int:
    """Write each item's wire JSON as one line on standard output; return how many."""
    out = _stdout_bytes()
    count = 0
    async for item in items:
        out.write(dumps(item) + b"\n")
        count += 1
    out.flush()
    return count


def print_json(data: Any) -> None:
    """Print ``data`` (a model or plain JSON data) as indented JSON on standard output."""
    out = _stdout_bytes()
    out.write(orjson.dumps(orjson.loads(dumps(data)), option=orjson.OPT_INDENT_2) + b"\n")
    out.flush()


def stdout_console() -> Console:
    """A rich console on standard output (wide when it is not a terminal)."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


def stderr_console() -> Console:
    """A rich console on standard error (for progress bars and messages)."""
    return Console(stderr=True, highlight=False)
