"""Configuration of the emulator: every knob is a field here and a flag of the CLI."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

import attrs

__all__ = [
    "ALL_OPERATIONS",
    "DEFAULT_API_VERSIONS",
    "EmulatorConfig",
    "ExitCodeRule",
    "FaultConfig",
    "Lifecycle",
]

#: api-versions the emulator accepts: the spec's, the azure-batch 15.x default and every
#: version the recordings show older clients sending (plus the published ones in between).
DEFAULT_API_VERSIONS: frozenset[str] = frozenset(
    {
        "2025-06-01",
        "2024-07-01.20.0",
        "2024-02-01.19.0",
        "2023-11-01.18.0",
        "2023-05-01.17.0",
        "2022-10-01.16.0",
        "2022-01-01.15.0",
        "2021-06-01.14.0",
        "2020-09-01.12.0",
        "2020-03-01.11.0",
        "2019-08-01.10.0",
        "2019-06-01.9.0",
        "2018-12-01.8.0",
        "2018-08-01.7.0",
        "2018-03-01.6.1",
        "2017-09-01.6.0",
        "2017-06-01.5.1",
        "2017-05-01.5.0",
        "2017-01-01.4.0",
        "2016-07-01.3.1",
        "2016-02-01.3.0",
        "2015-12-01.2.2",
    }
)

#: Operation names used by :attr:`FaultConfig.operations` and in the request statistics.
ALL_OPERATIONS: frozenset[str] = frozenset(
    {
        "task_add",
        "task_add_collection",
        "task_get",
        "task_update",
        "task_delete",
        "task_list",
        "task_list_subtasks",
        "task_terminate",
        "task_reactivate",
        "task_counts",
        "file_list",
        "file_get",
        "file_get_properties",
        "file_delete",
        "job_add",
        "job_get",
        "job_delete",
        "job_list",
    }
)

#: ``"auto"`` (the default): a task reads ``active`` when added, then starts and completes by
#: itself, spending a seeded time drawn from ``EmulatorConfig.active_seconds`` in ``active``
#: and from ``EmulatorConfig.running_seconds`` in ``running``; ``"instant"``: a task is
#: completed as soon as it is read; ``"manual"``: tasks stay where they are until moved with
#: ``RunningEmulator.advance_task`` (or ``POST /_emulator/jobs/{job}/tasks/{task}/advance``);
#: a number of seconds: a task spends exactly that long in ``active`` and again in ``running``.
Lifecycle = Literal["auto", "instant", "manual"] | float

#: A rule giving the exit code of every task whose command line matches a regular expression.
ExitCodeRule = tuple[str, int]

StatusCasing = Literal["pascal", "lower"]


def _str_frozenset(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _probability(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, not {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value!r}")


def _check_operations(
    _inst: object, attribute: attrs.Attribute[frozenset[str]], value: frozenset[str]
) -> None:
    unknown = set(value) - ALL_OPERATIONS
    if unknown:
        raise ValueError(
            f"{attribute.name}: unknown operation(s) {sorted(unknown)}; "
            f"known: {sorted(ALL_OPERATIONS)}"
        )


def _check_lifecycle(_inst: object, _attribute: attrs.Attribute[Lifecycle], value: object) -> None:
    if value in ("auto", "instant", "manual"):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(
            f"lifecycle must be 'auto', 'instant', 'manual' or seconds >= 0, not {value!r}"
        )


def _seconds_range(value: float | tuple[float, float] | list[float]) -> tuple[float, float]:
    if isinstance(value, tuple | list):
        low, high = value
        return (float(low), float(high))
    return (float(value), float(value))


def _check_range(
    _inst: object, attribute: attrs.Attribute[tuple[float, float]], value: tuple[float, float]
) -> None:
    low, high = value
    if not (0.0 <= low <= high) or math.isinf(high):
        raise ValueError(
            f"{attribute.name} must be seconds 0 <= low <= high (finite), not {value!r}"
        )


def _rules(values: Iterable[tuple[str, int]]) -> tuple[ExitCodeRule, ...]:
    return tuple((str(pattern), int(code)) for pattern, code in values)


def _check_rules(
    _inst: object,
    attribute: attrs.Attribute[tuple[ExitCodeRule, ...]],
    value: tuple[ExitCodeRule, ...],
) -> None:
    for pattern, code in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"{attribute.name}: {pattern!r} is not a regular expression: {exc}"
            ) from None
        if not -(2**31) <= code < 2**31:
            raise ValueError(f"{attribute.name}: exit code {code} is not a 32-bit integer")


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Seeded fault injection. Every probability is drawn from one ``random.Random(seed)``.

    Faults apply only to the operations named in :attr:`operations`
    (by default the two task-add operations).
    """

    #: Seed of the random generator behind every probabilistic fault and the result shuffle.
    seed: int = 0
    #: Operations the faults apply to (names from :data:`ALL_OPERATIONS`).
    operations: frozenset[str] = attrs.field(
        default=frozenset({"task_add_collection", "task_add"}),
        converter=_str_frozenset,
        validator=_check_operations,
    )
    #: Probability that one task of an add-collection request gets a ``servererror`` result
    #: (``ServerBusy``) and is not committed.
    task_server_error: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that a whole request is answered ``429 TooManyRequests`` with Retry-After.
    throttle_429: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that a whole request is answered ``503 ServerBusy`` with Retry-After.
    busy_503: float = attrs.field(default=0.0, validator=_probability)
    #: Retry-After (seconds) sent with the 429 and 503 faults.
    retry_after: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    #: Probability that a whole request is answered ``500 InternalError`` before commit.
    internal_error_500: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that the connection is dropped (no response) before anything is committed.
    drop_before_commit: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that the connection is dropped (no response) after the tasks were committed.
    drop_after_commit: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that the response is held back :attr:`delay_after_commit_seconds` after commit.
    delay_after_commit: float = attrs.field(default=0.0, validator=_probability)
    #: How long a delayed response is held back (seconds); set it past the client's timeout.
    delay_after_commit_seconds: float = attrs.field(default=5.0, validator=_non_negative)
    #: Per-job rate limit in tasks per second (token bucket, one second of burst); ``None`` = off.
    job_rate_limit: float | None = None
    #: Status of the rate-limit answer: 429 (``TooManyRequests``) or 503 (``ServerBusy``).
    rate_limit_status: Literal[429, 503] = 429
    #: Added latency per request, in milliseconds (an async sleep: it does not block others).
    latency_ms: float = attrs.field(default=0.0, validator=_non_negative)

    @property
    def any_active(self) -> bool:
        """Whether any fault can fire at all."""
        return bool(
            self.task_server_error
            or self.throttle_429
            or self.busy_503
            or self.internal_error_500
            or self.drop_before_commit
            or self.drop_after_commit
            or self.delay_after_commit
            or self.job_rate_limit
            or self.latency_ms
        )


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """Everything the emulator can be told. Immutable; build a new one with :func:`attrs.evolve`."""

    #: Batch account name used in Shared Key verification and in nothing else.
    account_name: str = "emulator"
    #: Base64 account key. ``None`` runs the emulator open (no authentication at all).
    account_key: str | None = None
    #: Accept ``Authorization: Bearer`` tokens: ``None`` refuses them, ``"*"`` accepts any token,
    #: any other value accepts exactly that token.
    accept_bearer_token: str | None = None
    #: Jobs created at start-up (so ``batch-tasks submit`` works against a fresh emulator).
    jobs: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    #: Accepted ``api-version`` values.
    api_versions: frozenset[str] = attrs.field(
        default=DEFAULT_API_VERSIONS, converter=_str_frozenset
    )
    #: Largest accepted request body in bytes (larger: ``413 RequestBodyTooLarge``).
    max_body_bytes: int = 1_048_576
    #: Largest number of tasks in one add-collection request.
    max_tasks_per_collection: int = 100
    #: Largest (and default) page size of lists.
    max_results: int = 1000
    #: Task lifecycle, see [`Lifecycle`][batch_tasks_async.emulator.Lifecycle].
    lifecycle: Lifecycle = attrs.field(default="auto", validator=_check_lifecycle)
    #: Under ``lifecycle="auto"``: seconds a task stays ``active`` before it starts, drawn per
    #: task (seeded by ``faults.seed``) between the two bounds; one number fixes it.
    active_seconds: tuple[float, float] = attrs.field(
        default=(0.5, 1.0), converter=_seconds_range, validator=_check_range
    )
    #: Under ``lifecycle="auto"``: seconds a task runs before it completes, drawn like
    #: ``active_seconds``.
    running_seconds: tuple[float, float] = attrs.field(
        default=(1.0, 3.0), converter=_seconds_range, validator=_check_range
    )
    #: Exit codes by command line: ``(regular expression, exit code)`` pairs, the first rule
    #: whose pattern is found in the command line wins. Before the literal ``exit N``.
    exit_code_rules: tuple[ExitCodeRule, ...] = attrs.field(
        default=(), converter=_rules, validator=_check_rules
    )
    #: Probability that a task no rule and no ``exit N`` decides exits with
    #: ``failure_exit_code``,
    #: drawn per task from ``faults.seed`` (the same task always gets the same answer).
    failure_rate: float = attrs.field(default=0.0, validator=_probability)
    #: Exit code (not 0) of the tasks that ``failure_rate`` fails.
    failure_exit_code: int = attrs.field(
        default=1, validator=attrs.validators.not_(attrs.validators.in_((0,)))
    )
    #: Casing of add-collection ``status`` values: ``"pascal"`` (``Success``, as the live
    #: service answers in the recordings) or ``"lower"`` (``success``, as the spec spells it).
    status_casing: StatusCasing = "pascal"
    #: Shuffle add-collection results (seeded); ``False`` keeps request order.
    shuffle_results: bool = True
    #: Fault injection.
    faults: FaultConfig = attrs.field(factory=FaultConfig)
