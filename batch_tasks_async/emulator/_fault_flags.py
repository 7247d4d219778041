"""The fault flags of ``batch-tasks emulator`` and ``batch-tasks demo``: one table, so both
commands take the same names and `fault_args` reproduces a
[`FaultConfig`][batch_tasks_async.emulator.FaultConfig] as flags.

Every flag is "not given" by default, so ``--faults-preset NAME`` supplies a mix and any flag
given overrides one field of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
import click

from ._config import FAULT_PRESETS, GARBLE_KINDS, FaultConfig

__all__ = ["FAULT_FLAGS", "FaultFlag", "fault_args", "fault_options", "faults_from_flags"]

F = TypeVar("F", bound=Callable[..., Any])

_PROB = click.FloatRange(0.0, 1.0)
_SECONDS = click.FloatRange(0.0)
_META_KEY = "batch_tasks_async.emulator.fault_flags"


def _csv(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@attrs.frozen
class FaultFlag:
    """One fault flag: the ``FaultConfig`` field it sets, its names, type and help."""

    field: str
    names: tuple[str, ...]
    type: click.ParamType[Any, Any]
    help: str
    #: Turns the flag's value into the field's value (comma lists, the 429/503 choice).
    convert: Callable[[Any], Any] = attrs.field(default=lambda value: value)
    #: Turns the field's value back into the flag's text.
    render: Callable[[Any], str] = attrs.field(default=repr)

    @property
    def flag(self) -> str:
        """The flag's main name."""
        return self.names[0]


FAULT_FLAGS: tuple[FaultFlag, ...] = (
    FaultFlag("seed", ("--seed",), click.INT, "Seed of every fault.", render=str),
    FaultFlag(
        "operations", ("--fault-operations",), click.STRING,
        "Comma-separated operations the faults apply to.",
        convert=_csv, render=lambda value: ",".join(sorted(value)),
    ),
    FaultFlag("task_server_error", ("--task-server-error", "--task-errors"), _PROB,
              "P(one task of an add-collection gets a per-task servererror)."),
    FaultFlag("throttle_429", ("--throttle-429", "--throttle"), _PROB,
              "P(a request is answered 429 TooManyRequests)."),
    FaultFlag("busy_503", ("--busy-503", "--busy"), _PROB,
              "P(a request is answered 503 ServerBusy)."),
    FaultFlag("retry_after", ("--retry-after",), click.IntRange(0),
              "Retry-After seconds sent with 429/503 answers.", render=str),
    FaultFlag("retry_after_text", ("--retry-after-text",), click.STRING,
              "Send this Retry-After text as is instead (e.g. inf, 1e20, -5, a date).",
              render=str),
    FaultFlag("internal_error_500", ("--internal-error-500", "--internal-errors"), _PROB,
              "P(a request is answered 500 InternalError, nothing committed)."),
    FaultFlag("drop_before_commit", ("--drop-before-commit", "--drop-before"), _PROB,
              "P(the connection drops before commit)."),
    FaultFlag("drop_after_commit", ("--drop-after-commit", "--drop-after"), _PROB,
              "P(the connection drops after commit)."),
    FaultFlag("delay_after_commit", ("--delay-after-commit",), _PROB,
              "P(the answer is held back after commit)."),
    FaultFlag("delay_after_commit_seconds", ("--delay-after-commit-seconds",), _SECONDS,
              "How long a held-back answer waits."),
    FaultFlag("job_rate_limit", ("--job-rate-limit", "--rate-limit"),
              click.FloatRange(0.0, min_open=True), "Throttle a job above this many tasks/s."),
    FaultFlag("rate_limit_status", ("--rate-limit-status",), click.Choice(["429", "503"]),
              "Status of the rate-limit answer.", convert=int, render=str),
    FaultFlag("latency_ms", ("--latency-ms",), _SECONDS, "Latency added to each request (ms)."),
    FaultFlag("garbled_body", ("--garbled-body",), _PROB,
              "P(a 2xx answer's body is garbled, after commit)."),
    FaultFlag("garbled_kinds", ("--garbled-kinds",), click.STRING,
              f"Comma-separated ways to garble: {', '.join(sorted(GARBLE_KINDS))}.",
              convert=_csv, render=lambda value: ",".join(sorted(value))),
    FaultFlag("omit_result", ("--omit-result",), _PROB,
              "P(one add-collection entry is left out of the answer)."),
    FaultFlag("omit_result_pattern", ("--omit-result-pattern",), click.STRING,
              "Regex of task ids whose add-collection entries are always left out.", render=str),
    FaultFlag("duplicate_result", ("--duplicate-result",), _PROB,
              "P(a success entry is listed twice: TaskExists, then Success)."),
    FaultFlag("unknown_status", ("--unknown-status",), _PROB,
              "P(an add-collection entry has a status the spec does not have)."),
    FaultFlag("drip_feed", ("--drip-feed",), _PROB,
              "P(an answer's body is sent one byte per --drip-interval)."),
    FaultFlag("drip_interval", ("--drip-interval",), _SECONDS,
              "Seconds between the bytes of a drip-fed answer."),
    FaultFlag("poison_task_pattern", ("--poison-task",), click.STRING,
              "Regex of task ids: every request holding one answers 500, nothing committed.",
              render=str),
    FaultFlag("commit_late", ("--commit-late",), _PROB,
              "P(a request's changes are committed only after --commit-late-seconds)."),
    FaultFlag("commit_late_seconds", ("--commit-late-seconds",), _SECONDS,
              "How long a late commit waits (set past the client's timeout)."),
)  # fmt: skip

_DEFAULTS = FaultConfig()


def _store(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.meta.setdefault(_META_KEY, {})[field] = value

    return callback


def fault_options(*, preset_aliases: Sequence[tuple[str, str]] = ()) -> Callable[[F], F]:
    """Add ``--faults-preset`` and every flag of `FAULT_FLAGS` to a click command.

    The values are read back with `faults_from_flags`. ``preset_aliases`` adds flags
    such as ``("--chaos", "chaos")`` that pick a preset.
    """

    def decorate(command: F) -> F:
        for spec in reversed(FAULT_FLAGS):
            value = getattr(_DEFAULTS, spec.field)
            default = "none" if value is None else spec.render(value)
            command = click.option(
                *spec.names,
                spec.field,
                type=spec.type,
                default=None,
                expose_value=False,
                callback=_store(spec.field),
                help=f"{spec.help} [default: {default}]",
            )(command)
        for flag, name in reversed(preset_aliases):
            command = click.option(
                flag,
                is_flag=True,
                default=False,
                expose_value=False,
                callback=_store(f"preset:{name}"),
                help=f"The {name!r} fault mix (same as --faults-preset {name}).",
            )(command)
        return click.option(
            "--faults-preset",
            type=click.Choice(sorted(FAULT_PRESETS)),
            default=None,
            expose_value=False,
            callback=_store("preset"),
            help="Start from a named fault mix (flags given override it).",
        )(command)

    return decorate


def faults_from_flags(ctx: click.Context) -> FaultConfig:
    """The ``FaultConfig`` the fault flags of ``ctx``'s command describe.

    Raises:
        click.UsageError: two presets were asked for, or a value is not valid.
    """
    given: dict[str, Any] = dict(ctx.meta.get(_META_KEY, {}))
    presets = {given.pop("preset")} if "preset" in given else set()
    for key in [k for k in given if k.startswith("preset:")]:
        if given.pop(key):
            presets.add(key.removeprefix("preset:"))
    if len(presets) > 1:
        raise click.UsageError(f"choose one fault preset, not {sorted(presets)}")
    by_field = {spec.field: spec for spec in FAULT_FLAGS}
    values = {field: by_field[field].convert(value) for field, value in given.items()}
    try:
        if presets:
            return FaultConfig.preset(presets.pop(), **values)
        return FaultConfig(**values)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc


def fault_args(faults: FaultConfig) -> list[str]:
    """The flags that reproduce ``faults`` (fields at their default are left out)."""
    args: list[str] = []
    for spec in FAULT_FLAGS:
        value = getattr(faults, spec.field)
        if value is None or value == getattr(_DEFAULTS, spec.field):
            continue
        args += [spec.flag, spec.render(value)]
    return args
