"""Rendering command results: ``-o json|jsonl|table|tsv|yaml|none`` and ``--query``.

One [`Renderer`][batch_tasks_async.cli._output.Renderer] serves every command. Results are
first turned into their wire JSON (camelCase keys, the REST API's names, as the Azure CLI
shows them), then, with ``--query``, filtered by a JMESPath expression, then printed:

* ``json``: indented JSON; a list is an array, written item by item as items arrive.
* ``jsonl``: one compact JSON document per line (streams).
* ``table``: aligned columns (streams: widths are taken from the first rows, later rows that
  are wider simply push the line right). Columns are the command's default ones, the
  properties named by ``--select``, or, with ``--query``, the keys of the first row.
* ``tsv``: tab-separated values, no header, for ``cut`` and shell loops (streams).
* ``yaml``: a YAML document (a list streams as list items).
* ``none``: nothing on standard output.

A JMESPath expression applies to the whole result, as in the Azure CLI, so ``--query`` on a
list gathers the list first (it does not stream); without ``--query`` nothing is gathered.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterable, Iterable, Sequence
from typing import Any, BinaryIO

import attrs
import jmespath
import jmespath.exceptions
import orjson
import yaml
from rich.console import Console

from .._serialization import dumps

__all__ = [
    "OUTPUT_FORMATS",
    "SUBTASK_COLUMNS",
    "TASK_COLUMNS",
    "Column",
    "Renderer",
    "columns_for_select",
    "compile_query",
    "stderr_console",
    "stdout_console",
    "to_data",
]

#: The values ``-o/--output`` accepts.
OUTPUT_FORMATS = ("json", "jsonl", "table", "tsv", "yaml", "none")

#: Rows buffered before a streamed table prints its header (the widths come from them).
TABLE_SAMPLE_ROWS = 20
#: A column (except the last) is never padded wider than this.
TABLE_MAX_WIDTH = 60


@attrs.frozen
class Column:
    """One table column: a header and the path of keys to its value in the wire JSON."""

    header: str
    path: tuple[str, ...]

    def value(self, row: Any) -> Any:
        """The cell of ``row`` (``None`` when a key on the path is missing)."""
        for key in self.path:
            if not isinstance(row, dict):
                return None
            row = row.get(key)
        return row


#: The default columns of a task table.
TASK_COLUMNS = (
    Column("id", ("id",)),
    Column("state", ("state",)),
    Column("exitCode", ("executionInfo", "exitCode")),
    Column("created", ("creationTime",)),
    Column("commandLine", ("commandLine",)),
)
#: The default columns of a subtask table.
SUBTASK_COLUMNS = (
    Column("id", ("id",)),
    Column("state", ("state",)),
    Column("exitCode", ("exitCode",)),
    Column("node", ("nodeInfo", "nodeId")),
    Column("started", ("startTime",)),
)


def columns_for_select(select: str | None, default: Sequence[Column]) -> tuple[Column, ...]:
    """The columns ``--select a,b/c`` asks for (``/`` separates nested keys), else ``default``."""
    if not select:
        return tuple(default)
    names = [name.strip() for name in select.split(",") if name.strip()]
    return tuple(Column(name, tuple(name.split("/"))) for name in names)


def compile_query(expression: str | None) -> jmespath.parser.ParsedResult | None:
    """Compile a ``--query`` expression.

    Raises:
        click.BadParameter: The expression is not valid JMESPath (the message names
            ``--query`` and where the expression went wrong).
    """
    if expression is None:
        return None
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        import click

        raise click.BadParameter(
            f"{expression!r} is not a JMESPath expression: {_first_line(str(error))}",
            param_hint="'--query'",
        ) from None


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def to_data(value: Any) -> Any:
    """``value`` as plain JSON data with wire names (models are serialized, dicts kept)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return orjson.loads(dumps(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _stdout_bytes() -> BinaryIO:
    """Standard output as a binary stream (text written before is flushed first)."""
    sys.stdout.flush()
    buffer: BinaryIO = sys.stdout.buffer
    return buffer


class _Table:
    """A table printed as its rows arrive: widths from the first rows, then row by row."""

    def __init__(self, out: BinaryIO, columns: Sequence[Column]) -> None:
        self._out = out
        self._columns = list(columns)
        self._sample: list[list[str]] | None = []
        self._widths: list[int] = []

    def add(self, row: Any) -> None:
        if not self._columns:
            self._columns = _columns_of(row)
        cells = [_cell(column.value(row)) for column in self._columns]
        if self._sample is not None:
            self._sample.append(cells)
            if len(self._sample) >= TABLE_SAMPLE_ROWS:
                self._flush_sample()
            return
        self._line(cells)

    def close(self) -> None:
        if self._sample is not None:
            self._flush_sample()
        self._out.flush()

    def _flush_sample(self) -> None:
        sample = self._sample or []
        self._sample = None
        if not self._columns:
            return
        headers = [column.header for column in self._columns]
        self._widths = [
            min(TABLE_MAX_WIDTH, max([len(h), *(len(row[i]) for row in sample)]))
            for i, h in enumerate(headers)
        ]
        self._line(headers)
        self._line(["-" * width for width in self._widths])
        for cells in sample:
            self._line(cells)
        self._out.flush()

    def _line(self, cells: Sequence[str]) -> None:
        last = len(cells) - 1
        text = "  ".join(
            cell if i == last else cell.ljust(self._widths[i]) for i, cell in enumerate(cells)
        )
        self._out.write(text.rstrip().encode() + b"\n")


def _columns_of(row: Any) -> list[Column]:
    if isinstance(row, dict):
        return [Column(str(key), (key,)) for key in row]
    return [Column("Result", ())]


class Renderer:
    """Prints a command's result in the chosen format, after the ``--query`` (if any).

    Args:
        output: One of [`OUTPUT_FORMATS`][batch_tasks_async.cli._output.OUTPUT_FORMATS].
        query: A compiled JMESPath expression, or ``None``.
        columns: The table (and tsv) columns when no ``--query`` is given; empty: the keys of
            the first row.
        out: Where to write (standard output by default).
    """

    def __init__(
        self,
        output: str,
        *,
        query: jmespath.parser.ParsedResult | None = None,
        columns: Sequence[Column] = (),
        out: BinaryIO | None = None,
    ) -> None:
        if output not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {output!r}")
        self.output = output
        self.query = query
        self.columns = tuple(columns)
        self._out = out

    @property
    def _stream(self) -> BinaryIO:
        return self._out if self._out is not None else _stdout_bytes()

    def one(self, value: Any) -> None:
        """Print one result (a model, a dict or a scalar)."""
        data = to_data(value)
        if self.query is not None:
            data = self.query.search(data)
            if isinstance(data, list):
                self._many_data(data, columns=())
                return
        self._one_data(data, columns=self.columns if self.query is None else ())

    async def many(self, items: AsyncIterable[Any]) -> int:
        """Print a list of results as they arrive (gathered first with ``--query``); return
        how many items there were."""
        if self.query is not None:
            gathered = [to_data(item) async for item in items]
            self._queried(gathered)
            return len(gathered)
        writer = _ListWriter(self._stream, self.output, self.columns)
        count = 0
        try:
            async for item in items:
                writer.add(to_data(item))
                count += 1
        finally:
            writer.close()
        return count

    def many_sync(self, items: Iterable[Any]) -> int:
        """[`many`][batch_tasks_async.cli._output.Renderer.many] for a plain iterable."""
        data = [to_data(item) for item in items]
        if self.query is not None:
            self._queried(data)
        else:
            self._many_data(data, columns=self.columns)
        return len(data)

    def _queried(self, data: list[Any]) -> None:
        assert self.query is not None
        result = self.query.search(data)
        if isinstance(result, list):
            self._many_data(result, columns=())
        else:
            self._one_data(result, columns=())

    def _many_data(self, data: Iterable[Any], *, columns: Sequence[Column]) -> None:
        writer = _ListWriter(self._stream, self.output, columns)
        try:
            for item in data:
                writer.add(item)
        finally:
            writer.close()

    def _one_data(self, data: Any, *, columns: Sequence[Column]) -> None:
        out = self._stream
        if self.output == "none":
            return
        if self.output == "json":
            out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        elif self.output == "jsonl":
            out.write(orjson.dumps(data) + b"\n")
        elif self.output == "yaml":
            out.write(_yaml(data))
        elif isinstance(data, (dict, list)) or self.output == "table":
            self._many_data([data], columns=columns)
            return
        else:  # tsv of a scalar
            out.write(_cell(data).encode() + b"\n")
        out.flush()


class _ListWriter:
    """Writes a list item by item in one format."""

    def __init__(self, out: BinaryIO, output: str, columns: Sequence[Column]) -> None:
        self._out = out
        self._output = output
        self._columns = list(columns)
        self._count = 0
        self._table = _Table(out, columns) if output == "table" else None

    def add(self, item: Any) -> None:
        out = self._out
        output = self._output
        if output == "table":
            assert self._table is not None
            self._table.add(item)
        elif output == "jsonl":
            out.write(orjson.dumps(item) + b"\n")
        elif output == "json":
            text = orjson.dumps(item, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  ")
            out.write((b"[\n  " if self._count == 0 else b",\n  ") + text)
        elif output == "yaml":
            out.write(_yaml([item]))
        elif output == "tsv":
            if not self._columns:
                self._columns = _columns_of(item) if isinstance(item, dict) else []
            if self._columns and isinstance(item, dict):
                cells = [_cell(column.value(item)) for column in self._columns]
            else:
                cells = [_cell(item)]
            out.write("\t".join(cells).encode() + b"\n")
        self._count += 1
        if self._count % 100 == 0 or output != "json":
            out.flush()

    def close(self) -> None:
        out = self._out
        if self._output == "table":
            assert self._table is not None
            self._table.close()
        elif self._output == "json":
            out.write(b"[]\n" if self._count == 0 else b"\n]\n")
        elif self._output == "yaml" and self._count == 0:
            out.write(b"[]\n")
        out.flush()


def _yaml(data: Any) -> bytes:
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text.encode()


def stderr_console() -> Console:
    """A rich console on standard error (for progress bars and messages)."""
    return Console(stderr=True, highlight=False)


def stdout_console() -> Console:
    """A rich console on standard output (wide when it is not a terminal)."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console
