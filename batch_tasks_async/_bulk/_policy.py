"""Retry policy of the bulk engine."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import anyio
import attrs

from .._retry import backoff, is_testing
from ..errors import ClientValidationError

__all__ = ["BulkRetryPolicy", "SleepFunction"]

#: An ``anyio.sleep``-like coroutine function: ``await sleep(seconds)``.
SleepFunction = Callable[[float], Awaitable[None]]


def _positive_int(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ClientValidationError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise ClientValidationError(f"{attribute.name} must be a number >= 0, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ClientValidationError(f"{attribute.name} must be between 0 and 1, got {value!r}")


@attrs.frozen(kw_only=True)
class BulkRetryPolicy:
    """How the bulk engine retries (it owns every retry of bulk submission).

    Attributes:
        max_attempts: Most attempts for one task that the service answers with a per-task
            ``servererror`` (or leaves out of its answer), and most sends of one request that
            fails as a whole with a 5xx, a 408, a timeout or a connection error. When a task
            runs out, its last ``servererror`` result is final; when a request runs out, the
            service is taken to be failing and the run stops (its tasks, and every task not yet
            sent, are reported unconfirmed).
        max_throttled_attempts: Most sends of one request answered ``429`` (throttling is the
            service asking for patience, so it gets a larger budget; set ``deadline`` to bound
            the time).
        backoff_base: First backoff delay, in seconds; it doubles with each further attempt.
        backoff_max: Largest backoff delay, in seconds.
        jitter: Fraction of each backoff delay that is randomized: a delay ``d`` becomes a
            uniform value in ``[d * (1 - jitter), d]``. ``0`` gives exact delays.
        max_retry_after: Largest ``Retry-After`` honoured, in seconds; longer requests are
            capped to it.
        sleep: Coroutine function used for every backoff wait (default `anyio.sleep`).
            Inject a recorder or a no-op in tests.
    """

    max_attempts: int = attrs.field(default=5, validator=_positive_int)
    max_throttled_attempts: int = attrs.field(default=30, validator=_positive_int)
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    max_retry_after: float = attrs.field(default=120.0, validator=_non_negative)
    sleep: SleepFunction = attrs.field(default=anyio.sleep, eq=False)

    @classmethod
    def no_backoff(
        cls, *, max_attempts: int = 5, max_throttled_attempts: int = 30
    ) -> BulkRetryPolicy:
        """A policy that retries without waiting (``Retry-After`` included); for tests."""
        return cls(
            max_attempts=max_attempts,
            max_throttled_attempts=max_throttled_attempts,
            backoff_base=0.0,
            backoff_max=0.0,
            jitter=0.0,
            max_retry_after=0.0,
        )

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before attempt ``attempt + 1`` after ``attempt`` failed attempts (>= 1).

        The one formula of both retry layers (``batch_tasks_async._retry.backoff``).
        """
        return backoff(
            attempt,
            initial=self.backoff_base,
            maximum=self.backoff_max,
            jitter=self.jitter,
            rng=rng,
        )

    def retry_delay(
        self, attempt: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """The delay before the next attempt: ``Retry-After`` (seconds, capped to
        ``max_retry_after``) when given, else backoff. Always finite; zero in test mode."""
        if retry_after is not None:
            if is_testing() or not retry_after > 0:
                return 0.0
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt, rng)
