"""The ``batch-tasks emulator`` flags of the task lifecycle, and the flags that reproduce a config.

Kept apart from the rest of the CLI so the lifecycle has one home: ``_cli`` applies
``lifecycle_options`` and ``lifecycle_fields``; ``config_to_args`` appends ``lifecycle_args``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ._config import EmulatorConfig, ExitCodeRule, Lifecycle

__all__ = ["lifecycle_args", "lifecycle_fields", "lifecycle_options"]

F = TypeVar("F", bound=Callable[..., Any])


def _lifecycle(value: str) -> Lifecycle:
    if value in ("auto", "instant", "manual"):
        return value  # type: ignore[return-value]
    try:
        seconds = float(value)
    except ValueError:
        raise click.BadParameter("use 'auto', 'instant', 'manual' or a number of seconds") from None
    if seconds < 0:
        raise click.BadParameter("seconds must not be negative")
    return seconds


def _seconds_range(value: str) -> tuple[float, float]:
    low, sep, high = value.partition(":")
    try:
        bounds = (float(low), float(high if sep else low))
    except ValueError:
        raise click.BadParameter(f"use SECONDS or MIN:MAX, not {value!r}") from None
    return bounds


def _rule(value: str) -> ExitCodeRule:
    pattern, sep, code = value.rpartition("=")
    if sep and pattern:
        try:
            return (pattern, int(code))
        except ValueError:
            pass
    raise click.BadParameter(f"use REGEX=EXIT_CODE, not {value!r}")


def _format_range(bounds: tuple[float, float]) -> str:
    low, high = bounds
    return repr(low) if low == high else f"{low!r}:{high!r}"


def lifecycle_options(command: F) -> F:
    """Add the lifecycle flags to a click command (they arrive as keyword arguments)."""
    options = [
        click.option(
            "--lifecycle",
            default="auto",
            show_default=True,
            help="'auto' (tasks run and complete by themselves), 'instant' (complete when "
            "read), 'manual', or fixed seconds per phase (active, running).",
        ),
        click.option(
            "--active-seconds",
            default="0.5:1.0",
            show_default=True,
            help="Under 'auto': seconds a task waits in 'active', SECONDS or MIN:MAX (seeded).",
        ),
        click.option(
            "--running-seconds",
            default="1.0:3.0",
            show_default=True,
            help="Under 'auto': seconds a task runs, SECONDS or MIN:MAX (seeded).",
        ),
        click.option(
            "--exit-code-rule",
            "exit_code_rules",
            multiple=True,
            help="REGEX=CODE: tasks whose command line matches exit with CODE (repeatable).",
        ),
        click.option(
            "--failure-rate",
            default=0.0,
            type=click.FloatRange(0.0, 1.0),
            help="Share of the other tasks that fail (seeded by --seed).",
        ),
        click.option(
            "--failure-exit-code",
            default=1,
            show_default=True,
            type=int,
            help="Exit code of the tasks --failure-rate fails.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def lifecycle_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The [`EmulatorConfig`][batch_tasks_async.emulator.EmulatorConfig] fields of the flags."""
    return {
        "lifecycle": _lifecycle(options["lifecycle"]),
        "active_seconds": _seconds_range(options["active_seconds"]),
        "running_seconds": _seconds_range(options["running_seconds"]),
        "exit_code_rules": tuple(_rule(v) for v in options["exit_code_rules"]),
        "failure_rate": options["failure_rate"],
        "failure_exit_code": options["failure_exit_code"],
    }


def lifecycle_args(config: EmulatorConfig) -> list[str]:
    """The lifecycle flags that reproduce ``config``."""
    args = [
        "--lifecycle", str(config.lifecycle),
        "--active-seconds", _format_range(config.active_seconds),
        "--running-seconds", _format_range(config.running_seconds),
        "--failure-rate", repr(config.failure_rate),
        "--failure-exit-code", str(config.failure_exit_code),
    ]  # fmt: skip
    for pattern, code in config.exit_code_rules:
        args += ["--exit-code-rule", f"{pattern}={code}"]
    return args
