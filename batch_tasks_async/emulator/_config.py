"""Configuration of the emulator: every knob is a field here and a flag of the CLI."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Literal

import attrs

__all__ = [
    "ALL_OPERATIONS",
    "DEFAULT_API_VERSIONS",
    "EmulatorConfig",
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
        "job_add",
        "job_get",
        "job_delete",
        "job_list",
    }
)

#: ``"instant"``: a task is completed as soon as it is added; ``"manual"``: tasks stay where they
#: are until moved with :meth:`RunningEmulator.advance_task` (or ``POST /_emulator/advance``);
#: a number of seconds: a task spends that long in ``active`` and again in ``running``.
Lifecycle = Literal["instant", "manual"] | float

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
    if value in ("instant", "manual"):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"lifecycle must be 'instant', 'manual' or seconds >= 0, not {value!r}")


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
    #: Serve https with a certificate made at start (see :attr:`tls_ca_path`).
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
    #: Task lifecycle, see :data:`Lifecycle`.
    lifecycle: Lifecycle = attrs.field(default="instant", validator=_check_lifecycle)
    #: Casing of add-collection ``status`` values: ``"pascal"`` (``Success``, as the live
    #: service answers in the recordings) or ``"lower"`` (``success``, as the spec spells it).
    status_casing: StatusCasing = "pascal"
    #: Shuffle add-collection results (seeded); ``False`` keeps request order.
    shuffle_results: bool = True
    #: Fault injection.
    faults: FaultConfig = attrs.field(factory=FaultConfig)
