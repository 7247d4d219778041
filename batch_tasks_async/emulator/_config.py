"""Configuration of the emulator: every knob is a field here and a flag of the CLI."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

__all__ = [
    "ALL_OPERATIONS",
    "DEFAULT_API_VERSIONS",
    "FAULT_PRESETS",
    "GARBLE_KINDS",
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

#: Operation names used by `FaultConfig.operations` and in the request statistics.
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


def _check_key(_inst: object, _attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise ValueError("account_key must be a non-empty base64 string")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("account_key is not valid base64 (the key itself is not shown)") from None


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, not {value!r}")


#: How a garbled 2xx answer is garbled (`FaultConfig.garbled_kinds`): a body that is not
#: JSON (``not_json``), the JSON cut in half (``truncated``), half the body and then the
#: connection closed (``cut_off``), an HTML error page (``html``), an empty body with the status
#: kept (``empty``), a bare 204 (``no_content``) or 202 (``accepted``), ``value`` an object
#: instead of a list (``value_not_list``), entries without ``status`` (``missing_status``), and
#: ``Content-Encoding: gzip`` on a body that is not (``bad_encoding``). The two shape kinds
#: apply to ``{"value": [...]}`` bodies only.
GARBLE_KINDS: frozenset[str] = frozenset(
    {
        "not_json",
        "truncated",
        "cut_off",
        "html",
        "empty",
        "no_content",
        "accepted",
        "value_not_list",
        "missing_status",
        "bad_encoding",
    }
)


def _check_garble_kinds(
    _inst: object, attribute: attrs.Attribute[frozenset[str]], value: frozenset[str]
) -> None:
    unknown = set(value) - GARBLE_KINDS
    if unknown or not value:
        raise ValueError(
            f"{attribute.name}: unknown kind(s) {sorted(unknown)}; "
            f"give one or more of {sorted(GARBLE_KINDS)}"
        )


def _check_header_text(
    _inst: object, attribute: attrs.Attribute[str | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
        raise ValueError(f"{attribute.name} must be one line of header text")


def _check_pattern(_inst: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty regular expression")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{attribute.name} is not a valid regular expression: {exc}") from None


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

    Faults apply only to the operations named in `operations`
    (by default the two task-add operations).
    """

    #: Seed of the random generator behind every probabilistic fault and the result shuffle.
    seed: int = 0
    #: Operations the faults apply to (names from `ALL_OPERATIONS`).
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
    #: The ``Retry-After`` text sent instead, as is, with every 429 and 503 (the rate limit's
    #: too): any value a server might send, e.g. ``"inf"``, ``"1e20"``, ``"-5"``, ``"soon"`` or
    #: an HTTP date. ``None``: `retry_after` (the rate limit: its computed wait).
    retry_after_text: str | None = attrs.field(default=None, validator=_check_header_text)
    #: Probability that a whole request is answered ``500 InternalError`` before commit.
    internal_error_500: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that the connection is dropped (no response) before anything is committed.
    drop_before_commit: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that the connection is dropped (no response) after the tasks were committed.
    drop_after_commit: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that the response is held back `delay_after_commit_seconds` after commit.
    delay_after_commit: float = attrs.field(default=0.0, validator=_probability)
    #: How long a delayed response is held back (seconds); set it past the client's timeout.
    delay_after_commit_seconds: float = attrs.field(default=5.0, validator=_non_negative)
    #: Per-job rate limit in tasks per second (token bucket, one second of burst); ``None`` = off.
    job_rate_limit: float | None = None
    #: Status of the rate-limit answer: 429 (``TooManyRequests``) or 503 (``ServerBusy``).
    rate_limit_status: Literal[429, 503] = 429
    #: Added latency per request, in milliseconds (an async sleep: it does not block others).
    latency_ms: float = attrs.field(default=0.0, validator=_non_negative)
    #: Probability that a 2xx answer with a body is garbled (after commit: the client cannot
    #: read what happened), in one of `garbled_kinds`, chosen by the seeded generator.
    garbled_body: float = attrs.field(default=0.0, validator=_probability)
    #: The ways `garbled_body` garbles, from `GARBLE_KINDS` (default: all).
    garbled_kinds: frozenset[str] = attrs.field(
        default=GARBLE_KINDS, converter=_str_frozenset, validator=_check_garble_kinds
    )
    #: Probability that one entry of an add-collection answer is left out (the task's fate
    #: is what it was: committed or not).
    omit_result: float = attrs.field(default=0.0, validator=_probability)
    #: Task ids (a regular expression matched against the whole id, ignoring case) whose
    #: add-collection entries are always left out, however often they are sent.
    omit_result_pattern: str | None = attrs.field(default=None, validator=_check_pattern)
    #: Probability that a ``Success`` entry is listed twice: a ``TaskExists`` error first, then
    #: the success (the task was committed once).
    duplicate_result: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that an add-collection entry's ``status`` is a value the spec does not have
    #: (``Unknown``, ``Pending`` or an empty string); the task's fate is what it was.
    unknown_status: float = attrs.field(default=0.0, validator=_probability)
    #: Probability that an answer's body is drip-fed, one byte every `drip_interval`
    #: seconds (after commit).
    drip_feed: float = attrs.field(default=0.0, validator=_probability)
    #: Seconds between the bytes of a drip-fed answer.
    drip_interval: float = attrs.field(default=0.2, validator=_non_negative)
    #: Task ids (a regular expression matched against the whole id, ignoring case) that poison
    #: every request holding them: answered ``500 InternalError``, nothing committed.
    poison_task_pattern: str | None = attrs.field(default=None, validator=_check_pattern)
    #: Probability that a request's changes are committed late: `commit_late_seconds`
    #: after it arrived (set past the client's timeout: committed after the client gave up).
    commit_late: float = attrs.field(default=0.0, validator=_probability)
    #: How long a late commit waits before committing (seconds).
    commit_late_seconds: float = attrs.field(default=5.0, validator=_non_negative)

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
            or self.garbled_body
            or self.omit_result
            or self.omit_result_pattern
            or self.duplicate_result
            or self.unknown_status
            or self.drip_feed
            or self.poison_task_pattern
            or self.commit_late
        )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> FaultConfig:
        """A named fault mix from `FAULT_PRESETS`, with any field overridden.

        ``FaultConfig.preset("chaos", seed=7)`` is the mix of ``batch-tasks demo --chaos``.

        Raises:
            ValueError: ``name`` is not a preset, or an override is not valid.
        """
        try:
            mix = FAULT_PRESETS[name]
        except KeyError:
            raise ValueError(
                f"unknown fault preset {name!r}; known: {sorted(FAULT_PRESETS)}"
            ) from None
        return cls(**{**mix, **overrides})


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """Everything the emulator can be told. Immutable; build a new one with `attrs.evolve`."""

    #: Batch account name used in Shared Key verification and in nothing else.
    account_name: str = "emulator"
    #: Base64 account key. ``None`` runs the emulator open (no authentication at all). With a
    #: key every endpoint, the ``/_emulator/...`` control endpoints included, needs a valid
    #: signature. Never shown in ``repr()``.
    account_key: str | None = attrs.field(default=None, repr=False, validator=_check_key)
    #: Accept ``Authorization: Bearer`` tokens: ``None`` refuses them, ``"*"`` accepts any token,
    #: any other value accepts exactly that token. Never shown in ``repr()``.
    accept_bearer_token: str | None = attrs.field(default=None, repr=False)
    #: How far (seconds) the ``ocp-date`` (or ``Date``) of a Shared Key request may be from the
    #: emulator's clock, either way; outside it, or with no parseable date at all, the request
    #: is refused ``403 AuthenticationFailed`` (the service's documented 15 minutes).
    date_window_seconds: float = attrs.field(default=900.0, validator=_positive)
    #: Serve https with a certificate made at start (see `tls_ca_path`).
    tls: bool = False
    #: Where ``tls`` writes the PEM bundle of the CA that signed the certificate; ``None``: a
    #: file in a new temporary directory (removed when the emulator stops).
    tls_ca_path: str | None = None
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


#: Named fault mixes for `FaultConfig.preset` (``--faults-preset NAME`` on
#: ``batch-tasks emulator`` and ``batch-tasks demo``):
#:
#: * ``chaos``: ``batch-tasks demo --chaos``: some of every classic fault: 5% 429s, 2% 503s,
#:   2% 500s, 1% per-task server errors, 2% drops before and 3% after commit.
#: * ``benchmark``: the ``faults`` section of the benchmarks (``benchmarks/run.py``), with
#:   ``Retry-After: 1``.
#: * ``hostile``: ``chaos`` plus every reply the bulk engine must survive: garbled 2xx bodies,
#:   entries left out, listed twice or with unknown statuses, drip-fed answers (0.05 s per
#:   byte) and late commits (0.5 s).
FAULT_PRESETS: Mapping[str, Mapping[str, Any]] = {
    "chaos": {
        "throttle_429": 0.05,
        "busy_503": 0.02,
        "internal_error_500": 0.02,
        "task_server_error": 0.01,
        "drop_before_commit": 0.02,
        "drop_after_commit": 0.03,
    },
    "benchmark": {
        "retry_after": 1,
        "task_server_error": 0.02,
        "throttle_429": 0.03,
        "busy_503": 0.02,
        "internal_error_500": 0.01,
        "drop_before_commit": 0.03,
        "drop_after_commit": 0.03,
    },
    "hostile": {
        "throttle_429": 0.03,
        "busy_503": 0.02,
        "internal_error_500": 0.02,
        "task_server_error": 0.01,
        "drop_before_commit": 0.02,
        "drop_after_commit": 0.03,
        "garbled_body": 0.03,
        "omit_result": 0.01,
        "duplicate_result": 0.01,
        "unknown_status": 0.01,
        "drip_feed": 0.005,
        "drip_interval": 0.05,
        "commit_late": 0.01,
        "commit_late_seconds": 0.5,
    },
}
