"""Reading tasks from JSON Lines or a JSON array, streaming: the input is never held whole.

The first non-blank byte decides the format: ``[`` is a JSON array of tasks (pretty-printed or
not), anything else JSON Lines (one task per line). Either way the input is read in chunks of
about 64 KiB on a worker thread, each task is parsed on its own, and every task keeps the line
number where it starts, for messages and the report.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import IO, Any, Literal

import anyio.to_thread
import orjson

__all__ = ["MalformedLine", "TaskReader", "parse_line", "read_tasks"]

#: The input is read in chunks of this many bytes, one worker-thread hop per chunk.
READ_BATCH_BYTES = 1 << 16

#: The bytes that matter to the structure of a JSON array (strings, nesting, separators).
_STRUCTURE = re.compile(rb'["\\\[\]{},\n]')

_PRETTY_HINT = (
    "; the input looks like pretty-printed JSON: put one task per line (JSON Lines) or "
    "wrap the tasks in a JSON array [...]"
)


class MalformedLine:
    """An input line (or array element) that is not a task.

    Attributes:
        line: The 1-based line number (where the element starts, in a JSON array).
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
        """The JSON written to the report."""
        return {
            "line": self.line,
            "status": "malformed",
            "error": {"code": self.code, "message": self.message},
        }


def parse_line(number: int, raw: bytes) -> dict[str, Any] | MalformedLine | None:
    """Parse one line: a wire-format task dict, a
    [`MalformedLine`][batch_tasks_async.cli._jsonl.MalformedLine], or ``None`` if blank."""
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


class _ArrayScanner:
    """Splits a JSON array, fed chunk by chunk, into its elements (bytes, starting line)."""

    def __init__(self) -> None:
        self.line = 1
        self.depth = 0  # 1 inside the top-level array
        self.closed = False
        self._in_string = False
        self._escaped_at = -1
        self._pending = bytearray()
        self._start_line: int | None = None
        self.trailing: int | None = None  # the line of anything after the closing bracket

    def feed(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        start = 0
        for match in _STRUCTURE.finditer(chunk):
            char = match.group()
            at = match.start()
            if self.closed:
                if char == b"\n":
                    self.line += 1
                    continue
                if self.trailing is None:
                    self.trailing = self.line
                continue
            if self._in_string:
                if at == self._escaped_at:
                    continue
                if char == b"\\":
                    self._escaped_at = at + 1
                elif char == b'"':
                    self._in_string = False
                elif char == b"\n":
                    self.line += 1
                continue
            if char == b"\n":
                self.line += 1
                continue
            if self.depth == 0:
                if char == b"[":
                    self.depth = 1
                    start = match.end()
                    continue
                if self.trailing is None:
                    self.trailing = self.line
                continue
            if self.depth == 1 and self._start_line is None:
                self._start_line = self.line
            if char == b'"':
                self._in_string = True
            elif char in (b"{", b"["):
                self.depth += 1
            elif char in (b"}", b"]"):
                self.depth -= 1
                if self.depth == 0:  # the top-level array closed
                    self.closed = True
                    yield from self._element(chunk[start:at])
                    start = match.end()
            elif char == b"," and self.depth == 1:
                yield from self._element(chunk[start:at])
                start = match.end()
        # An escaping backslash at the very end escapes the next chunk's first byte.
        self._escaped_at = 0 if self._escaped_at == len(chunk) else -1
        if not self.closed and self.depth > 0:
            self._pending += chunk[start:]
        elif not self.closed and chunk[start:].strip() and self.trailing is None:
            self.trailing = self.line

    def _element(self, tail: bytes) -> Iterator[tuple[int, bytes]]:
        raw = bytes(self._pending) + tail
        self._pending.clear()
        line = self._start_line if self._start_line is not None else self.line
        self._start_line = None
        if raw.strip():
            yield line, raw
        self._escaped_at = -1


class TaskReader:
    """Reads the tasks of a stream and keeps what the command line reports about them.

    Attributes:
        bytes_read: Bytes read from the input so far (for progress against the file's size).
        format: ``"jsonl"`` or ``"array"`` once the first non-blank byte was read.
    """

    def __init__(self, stream: IO[bytes], on_malformed: Callable[[MalformedLine], None]) -> None:
        self._stream = stream
        self._on_malformed = on_malformed
        self.bytes_read = 0
        self.format: Literal["jsonl", "array"] | None = None
        self._lines: defaultdict[str, deque[int]] = defaultdict(deque)
        self._hinted = False

    def line_of(self, task_id: str) -> int | None:
        """The line of the first task read with ``task_id`` not yet asked about (each line is
        given once, so duplicate ids get their own lines in order)."""
        lines = self._lines.get(task_id)
        if not lines:
            return None
        line = lines.popleft()
        if not lines:
            del self._lines[task_id]
        return line

    async def _chunks(self) -> AsyncGenerator[bytes, None]:
        while True:
            chunk: bytes = await anyio.to_thread.run_sync(self._stream.read, READ_BATCH_BYTES)
            if not chunk:
                return
            self.bytes_read += len(chunk)
            yield chunk

    def _task(self, line: int, raw: bytes) -> dict[str, Any] | None:
        parsed = parse_line(line, raw)
        if parsed is None:
            return None
        if isinstance(parsed, MalformedLine):
            if (
                not self._hinted
                and self.format == "jsonl"
                and parsed.code == "InvalidJson"
                and raw.strip() in (b"{", b"[")
            ):
                self._hinted = True
                parsed.message += _PRETTY_HINT
            self._on_malformed(parsed)
            return None
        self._lines[parsed["id"]].append(line)
        return parsed

    async def tasks(self) -> AsyncGenerator[dict[str, Any], None]:
        """Yield each task (a wire-format dict) in order; malformed ones go to
        ``on_malformed`` and the following ones are still read."""
        chunks = self._chunks()
        first = b""
        async for chunk in chunks:
            first += chunk
            if first.strip():
                break
        if not first.strip():
            return
        if first.lstrip()[:1] == b"[":
            self.format = "array"
            scanner = _ArrayScanner()
            for line, raw in scanner.feed(first):
                task = self._task(line, raw)
                if task is not None:
                    yield task
            async for chunk in chunks:
                for line, raw in scanner.feed(chunk):
                    task = self._task(line, raw)
                    if task is not None:
                        yield task
            if not scanner.closed:
                self._on_malformed(
                    MalformedLine(
                        scanner.line,
                        "InvalidJson",
                        "the JSON array is not closed (a ']' is missing, or an element is "
                        "broken); the elements before it were read",
                    )
                )
            elif scanner.trailing is not None:
                self._on_malformed(
                    MalformedLine(
                        scanner.trailing,
                        "InvalidJson",
                        "data after the end of the JSON array; it was not read",
                    )
                )
            return
        self.format = "jsonl"
        number = 0
        rest = first
        while True:
            lines = rest.split(b"\n")
            rest = lines.pop()
            for raw in lines:
                number += 1
                task = self._task(number, raw)
                if task is not None:
                    yield task
            chunk = await anext(chunks, b"")
            if not chunk:
                break
            rest += chunk
        if rest:
            task = self._task(number + 1, rest)
            if task is not None:
                yield task


async def read_tasks(
    stream: IO[bytes], on_malformed: Callable[[MalformedLine], None]
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield each task (a wire-format dict) of a JSON Lines or JSON array stream, in order.

    See [`TaskReader`][batch_tasks_async.cli._jsonl.TaskReader], which also counts the bytes
    read and remembers each task's line.
    """
    async for task in TaskReader(stream, on_malformed).tasks():
        yield task
