"""The options every command shares, in one place.

A command is built from these decorators (innermost last), for example:

    @click.command("get")
    @id_arguments("job", "task")
    @output_options(default="json", columns=TASK_COLUMNS)
    @connection_options
    def get_command(*, job_id, task_id, render, connection): ...

* [`id_arguments`][batch_tasks_async.cli._common.id_arguments]: ids given as positionals
  (``get JOB TASK``) or as ``--job-id`` / ``--task-id`` (in any mix); the command receives
  ``job_id`` / ``task_id`` (and any other named positionals) as strings.
* [`output_options`][batch_tasks_async.cli._common.output_options]: ``-o/--output`` and
  ``--query``; the command receives ``render``, a
  [`Renderer`][batch_tasks_async.cli._output.Renderer].
* [`connection_options`][batch_tasks_async.cli._connection.connection_options]: the account
  flags and environment variables; the command receives ``connection``.
* [`DURATION`][batch_tasks_async.cli._common.DURATION]: a click parameter type for durations
  (``90``, ``2h``, ``1h30m``, ``PT2H``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

import click

from .._serialization import parse_duration
from ._connection import _copy_meta, connection_options
from ._output import OUTPUT_FORMATS, Column, Renderer, columns_for_select, compile_query

__all__ = [
    "DURATION",
    "DurationType",
    "connection_options",
    "id_arguments",
    "output_options",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Ids that also have an option: positional name -> option.
_ID_OPTIONS = {"job": "--job-id", "task": "--task-id"}

_SHORT_DURATION = re.compile(
    r"(?:(?P<d>\d+(?:\.\d+)?)d)?(?:(?P<h>\d+(?:\.\d+)?)h)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?",
    re.IGNORECASE,
)


class DurationType(click.ParamType[timedelta, Any]):
    """A duration: seconds (``90``), a short form (``2h``, ``1h30m``, ``45s``, ``1d``) or
    ISO 8601 (``PT2H``, ``P1DT12H``). Converts to a ``timedelta``."""

    name = "duration"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """The metavar shown in ``--help``."""
        return "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        """Parse ``value``; a bad one fails naming the option and the accepted forms."""
        if isinstance(value, timedelta):
            return value
        text = str(value).strip()
        seconds: float | None = None
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            short = _SHORT_DURATION.fullmatch(text)
            if text and short is not None and any(short.groupdict().values()):
                parts = {k: float(v) if v else 0.0 for k, v in short.groupdict().items()}
                seconds = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
        if seconds is not None:
            return timedelta(seconds=seconds)
        try:
            parsed = parse_duration(text.upper())
        except (ValueError, TypeError, OverflowError):
            parsed = None
        if parsed is None:
            self.fail(
                f"{text!r} is not a duration; use seconds (7200), a short form "
                "(2h, 1h30m, 45s, 1d) or ISO 8601 (PT2H)",
                param,
                ctx,
            )
        return parsed


#: The shared [`DurationType`][batch_tasks_async.cli._common.DurationType] instance.
DURATION = DurationType()


def id_arguments(*names: str) -> Callable[[F], F]:
    """Positional arguments, in order, of which ``job`` and ``task`` may also be options.

    ``id_arguments("job", "task")`` accepts ``JOB TASK``, ``--job-id J TASK``,
    ``--job-id J --task-id T`` and so on; positionals fill the names not given as options, in
    order. The command receives ``job_id``, ``task_id`` and, for any other name (e.g.
    ``"source"``), a keyword of that name, each a string.

    Raises:
        click.UsageError: A name is missing, given twice with different values, or there are
            extra positionals (the message names the argument and its option).
    """
    metavar = " ".join(name.upper() for name in names)

    def decorate(func: F) -> F:
        def callback(**kwargs: Any) -> Any:
            positionals = list(kwargs.pop("positional_ids"))
            given: dict[str, str | None] = {}
            for name in names:
                if name in _ID_OPTIONS:
                    given[name] = kwargs.pop(f"{name}_id_option")
            values: dict[str, str] = {}
            for name in names:
                if given.get(name) is not None:
                    values[name] = str(given[name])
                elif positionals:
                    values[name] = positionals.pop(0)
                else:
                    hint = f" (or {_ID_OPTIONS[name]})" if name in _ID_OPTIONS else ""
                    raise click.UsageError(f"missing argument {name.upper()}{hint}")
            if positionals:
                raise click.UsageError(
                    f"unexpected extra argument(s): {' '.join(positionals)} "
                    f"(expected {metavar}; an id given as an option is not repeated)"
                )
            for name, value in values.items():
                kwargs[f"{name}_id" if name in _ID_OPTIONS else name] = value
            return func(**kwargs)

        wrapped: Callable[..., Any] = _copy_meta(callback, func)
        for name in reversed(names):
            if name in _ID_OPTIONS:
                wrapped = click.option(
                    _ID_OPTIONS[name],
                    f"{name}_id_option",
                    metavar="ID",
                    help=f"The {name} id (instead of the {name.upper()} argument).",
                )(wrapped)
        return cast(F, click.argument("positional_ids", nargs=-1, metavar=metavar)(wrapped))

    return decorate


def output_options(
    *, default: str = "json", columns: Sequence[Column] = (), select_columns: bool = False
) -> Callable[[F], F]:
    """Add ``-o/--output`` and ``--query``; the command receives ``render``, a
    [`Renderer`][batch_tasks_async.cli._output.Renderer].

    Args:
        default: The default output format.
        columns: The table/tsv columns when neither ``--select`` nor ``--query`` says
            otherwise.
        select_columns: The command has a ``--select`` option whose properties become the
            columns (the command still receives ``select``).
    """

    def decorate(func: F) -> F:
        def callback(**kwargs: Any) -> Any:
            output = kwargs.pop("output")
            query = compile_query(kwargs.pop("query"))
            chosen = columns
            if select_columns:
                chosen = columns_for_select(kwargs.get("select"), columns)
            kwargs["render"] = Renderer(output, query=query, columns=chosen)
            return func(**kwargs)

        wrapped: Callable[..., Any] = _copy_meta(callback, func)
        wrapped = click.option(
            "--query",
            metavar="JMESPATH",
            help="A JMESPath query applied to the result (as in the Azure CLI), "
            "e.g. \"[?state=='completed'].id\".",
        )(wrapped)
        option = click.option(
            "--output",
            "-o",
            type=click.Choice(OUTPUT_FORMATS),
            default=default,
            show_default=True,
            help="Output format.",
        )
        return cast(F, option(wrapped))

    return decorate
