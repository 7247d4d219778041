"""[`BulkOptions`][batch_tasks_async.BulkOptions]: every option of a bulk add, validated once."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Final, Literal, TypedDict

import attrs

from ..errors import ClientValidationError
from ._policy import BulkRetryPolicy
from ._progress import ProgressCallback

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_PROGRESS_INTERVAL",
    "MAX_REQUEST_BYTES_LIMIT",
    "MAX_TASKS_PER_REQUEST",
    "MIN_REQUEST_BYTES",
    "BulkOptions",
    "BulkOverrides",
]

#: Default number of add-collection requests in flight.
DEFAULT_CONCURRENCY: Final = 16
#: The service's limit on tasks per add-collection request.
MAX_TASKS_PER_REQUEST: Final = 100
#: The documented service limit on an add-collection request body (1 MiB).
DEFAULT_MAX_REQUEST_BYTES: Final = 1_048_576
#: Largest ``max_request_bytes`` accepted.
MAX_REQUEST_BYTES_LIMIT: Final = 4 * 1_048_576
#: Smallest ``max_request_bytes`` accepted.
MIN_REQUEST_BYTES: Final = 64
#: Default interval between ``on_progress`` calls, in seconds.
DEFAULT_PROGRESS_INTERVAL: Final = 0.25
#: Default bound on one attempt of one request, from sending to the last byte of the answer.
DEFAULT_ATTEMPT_TIMEOUT: Final = 90.0


def _whole(low: int, high: float) -> Any:
    def check(_: object, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bound = f"of at least {low}" if math.isinf(high) else f"from {low} to {high}"
            raise ClientValidationError(
                f"{attribute.name} must be an integer {bound}, got {value!r}"
            )

    return check


def _positive(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ClientValidationError(
            f"{attribute.name} must be a positive number of seconds, got {value!r}"
        )


def _seconds(value: object) -> object:
    return value.total_seconds() if isinstance(value, timedelta) else value


def _deadline(_: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is not None:
        _positive(_, attribute, value)  # type: ignore[arg-type]


def _policy(_: object, __: attrs.Attribute[BulkRetryPolicy], value: object) -> None:
    if not isinstance(value, BulkRetryPolicy):
        raise ClientValidationError(
            f"retry_policy must be a BulkRetryPolicy, got {type(value).__name__}"
        )


def _if_exists(_: object, __: attrs.Attribute[str], value: object) -> None:
    if value not in ("fail", "skip"):
        raise ClientValidationError(f'if_exists must be "fail" or "skip", got {value!r}')


def _callback(_: object, __: attrs.Attribute[ProgressCallback | None], value: object) -> None:
    if value is not None and not callable(value):
        raise ClientValidationError("on_progress must be callable")


def _flag(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ClientValidationError(f"{attribute.name} must be True or False, got {value!r}")


def _policy_or_default(value: object) -> object:
    return BulkRetryPolicy() if value is None else value


@attrs.frozen(kw_only=True)
class BulkOptions:
    """The options of a bulk add (`add_collection`, `stream_add_collection`).

    Pass one as ``options=`` and/or any field as a keyword (keywords override the object's
    fields). Every field is validated when the object is made, so a bad option is refused with
    a [`ClientValidationError`][batch_tasks_async.errors.ClientValidationError] naming it
    before anything is sent.

    Attributes:
        concurrency: Most requests in flight. Lowered while the service throttles and raised
            again when it stops, never above this value.
        max_tasks_per_request: Most tasks in one request (1 to 100).
        max_request_bytes: Largest request body (64 bytes to 4 MiB; default 1 MiB, the
            service's limit). Lowered for later requests when the service answers 413.
        retry_policy: Attempts and backoff of the bulk layer
            ([`BulkRetryPolicy`][batch_tasks_async.BulkRetryPolicy]).
        deadline: Seconds (or a timedelta) the whole call may take. When it expires nothing more
            is read or sent, requests in flight are abandoned, and every task not final is
            reported unconfirmed.
        attempt_timeout: Seconds one attempt of one request may take from sending to the last
            byte of the answer (a drip-fed answer is cut off and counts as ambiguous).
        if_exists: ``"fail"``: a task that existed before this run is a ``clienterror``
            ``TaskExists``. ``"skip"``: it counts as a success (its result keeps the
            ``TaskExists`` error), which makes re-running a pipeline with the same ids safe.
        on_progress: Called with a [`BulkProgress`][batch_tasks_async.BulkProgress] every
            ``progress_interval`` seconds and once at the end.
        progress_interval: Seconds between progress reports.
        raise_on_failure: Raise [`CreateTasksError`][batch_tasks_async.errors.CreateTasksError]
            when any task was not added (default); when false, return the result.
        return_results: ``add_collection`` only. ``True`` (default): one result per task read,
            in input order. ``False``: the result holds the failed and unconfirmed tasks only
            (still in input order) and no object is kept per success; counts are in the final
            progress report and in ``CreateTasksError.added``.
    """

    concurrency: int = attrs.field(default=DEFAULT_CONCURRENCY, validator=_whole(1, math.inf))
    max_tasks_per_request: int = attrs.field(
        default=MAX_TASKS_PER_REQUEST, validator=_whole(1, MAX_TASKS_PER_REQUEST)
    )
    max_request_bytes: int = attrs.field(
        default=DEFAULT_MAX_REQUEST_BYTES,
        validator=_whole(MIN_REQUEST_BYTES, MAX_REQUEST_BYTES_LIMIT),
    )
    retry_policy: BulkRetryPolicy = attrs.field(
        factory=BulkRetryPolicy, converter=_policy_or_default, validator=_policy
    )
    deadline: float | None = attrs.field(default=None, converter=_seconds, validator=_deadline)
    attempt_timeout: float = attrs.field(
        default=DEFAULT_ATTEMPT_TIMEOUT, converter=_seconds, validator=_positive
    )
    if_exists: Literal["fail", "skip"] = attrs.field(default="fail", validator=_if_exists)
    on_progress: ProgressCallback | None = attrs.field(default=None, validator=_callback)
    progress_interval: float = attrs.field(default=DEFAULT_PROGRESS_INTERVAL, validator=_positive)
    raise_on_failure: bool = attrs.field(default=True, validator=_flag)
    return_results: bool = attrs.field(default=True, validator=_flag)

    @classmethod
    def build(cls, options: BulkOptions | None, overrides: BulkOverrides) -> BulkOptions:
        """``options`` (or the defaults) with ``overrides`` applied, validated."""
        if options is None:
            return cls(**overrides)
        if not isinstance(options, BulkOptions):
            raise ClientValidationError(
                f"options must be a BulkOptions, got {type(options).__name__}"
            )
        if not overrides:
            return options
        fields = attrs.fields_dict(cls)
        for name in overrides:
            if name not in fields:
                raise ClientValidationError(f"unknown bulk option {name!r}")
        return attrs.evolve(options, **overrides)


class BulkOverrides(TypedDict, total=False):
    """The fields of [`BulkOptions`][batch_tasks_async.BulkOptions], as keyword arguments."""

    concurrency: int
    max_tasks_per_request: int
    max_request_bytes: int
    retry_policy: BulkRetryPolicy | None
    deadline: float | timedelta | None
    attempt_timeout: float | timedelta
    if_exists: Literal["fail", "skip"]
    on_progress: ProgressCallback | None
    progress_interval: float
    raise_on_failure: bool
    return_results: bool
