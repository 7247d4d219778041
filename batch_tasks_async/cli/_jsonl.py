"""Reading tasks from JSON Lines, streaming: the input is never held in memory whole."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import IO, Any

import anyio.to_thread
import orjson

__all__ = ["MalformedLine", "read_tasks"]

#: Lines are read in batches of about this many bytes, one worker-thread hop per batch.
READ_BATCH_BYTES = 1 << 16


class MalformedLine:
    """An input line that is not a task.

    Attributes:
        line: The 1-based line number.
        code: ``InvalidJson``, ``NotAnObject`` or ``MissingTaskId``.
        message: What is wrong.
    """

    __slots__ = ("code", "line", "message")

    def __init__(self, line: int, code: str, message: str) -> None:
        self.line = line
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"MalformedLine(line={self.line}, code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON written to the failure report."""
        return {
            "line": self.line,
            "status": "malformed",
            "error": {"code": self.code, "message": self.message},
        }


def parse_line(number: int, raw: bytes) -> dict[str, Any] | MalformedLine | None:
    """Parse one line: a wire-format task dict, a :class:`MalformedLine`, or ``None`` if blank."""
    if not raw.strip():
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return MalformedLine(number, "InvalidJson", f"not valid JSON: {error}")
    if not isinstance(data, dict):
        return MalformedLine(
            number, "NotAnObject", f"expected a JSON object (a task), got {type(data).__name__}"
        )
    task_id = data.get("id")
    if not isinstance(task_id, str) or not task_id:
        return MalformedLine(number, "MissingTaskId", "the task has no non-empty string 'id'")
    return data


async def read_tasks(
    stream: IO[bytes], on_malformed: Callable[[MalformedLine], None]
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield each task (a wire-format dict) of a JSON Lines stream, in order.

    Lines are read in batches of about 64 KiB on a worker thread, so the event loop never
    blocks on the file and memory stays bounded however long the input is. Blank lines are
    skipped; a malformed line is handed to ``on_malformed`` (with its line number) and the
    following lines are still read.
    """
    number = 0
    while True:
        lines: list[bytes] = await anyio.to_thread.run_sync(stream.readlines, READ_BATCH_BYTES)
        if not lines:
            return
        for raw in lines:
            number += 1
            parsed = parse_line(number, raw)
            if parsed is None:
                continue
            if isinstance(parsed, MalformedLine):
                on_malformed(parsed)
                continue
            yield parsed
