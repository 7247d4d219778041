"""One home for retry timing: ``Retry-After`` parsing, the backoff formula, the test switch.

Both retry layers use these: the HTTP layer's [`RetryPolicy`][batch_tasks_async.RetryPolicy]
and the bulk engine's [`BulkRetryPolicy`][batch_tasks_async.BulkRetryPolicy].

- ``parse_retry_after`` reads what a reply asks
  for (``retry-after-ms``, ``x-ms-retry-after-ms``, ``Retry-After`` as seconds or an HTTP
  date). It is total: whatever the headers hold, it returns a number of seconds in
  ``[0, cap]`` or ``None``, and never raises.
- ``backoff`` is exponential backoff with a fraction of
  jitter: ``jitter=1`` is "full jitter", ``jitter=0`` exact delays.
- ``set_testing`` removes every wait of both layers
  (backoff and ``Retry-After``) at once, for test suites, as stamina's switch does.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import attrs
import httpx
import tenacity

from ._dates import parse_http_date
from .errors import ClientValidationError, ServiceError, TransportError

__all__ = ["RetryPolicy", "backoff", "is_testing", "parse_retry_after", "set_testing"]

_testing = False

# Decimal numbers, as the delay-seconds of RFC 9110 (digits) and the float forms Azure sends;
# "inf" and "nan" are matched separately so that a bare float() is never trusted with text.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan"})

#: Exponents past this give delays far above any sensible maximum (and 2.0**1024 overflows).
_MAX_EXPONENT = 64


def set_testing(enabled: bool = True) -> None:
    """Turn test mode on (or off): every backoff and ``Retry-After`` wait becomes zero.

    Both the HTTP layer and the bulk engine honour it; retries still happen, at once.
    """
    global _testing
    _testing = bool(enabled)


def is_testing() -> bool:
    """Whether ``set_testing`` turned test mode on."""
    return _testing


def _seconds(text: str, *, scale: float, cap: float) -> float | None:
    """A number of seconds from ``text`` (times ``scale``), clamped to ``[0, cap]``."""
    text = text.strip()
    if text.lower() in _NON_FINITE:
        value = float(text)
        return 0.0 if value < 0 else cap
    if not _NUMBER.fullmatch(text):
        return None
    try:
        value = float(text) * scale
    except (ValueError, OverflowError):  # pragma: no cover - the pattern admits floats only
        return None
    if math.isnan(value) or value > cap:
        return cap
    return max(value, 0.0)


def _date_seconds(text: str, now: datetime | None, cap: float) -> float | None:
    when = parse_http_date(text)
    if when is None:
        return None
    reference = now if now is not None else datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return min(max((when - reference).total_seconds(), 0.0), cap)


def _lookup(headers: Mapping[str, str] | httpx.Headers, name: str) -> str | None:
    if isinstance(headers, httpx.Headers):
        found = headers.get(name)
        return found if isinstance(found, str) else None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return value if isinstance(value, str) else None
    return None


def parse_retry_after(
    headers: Mapping[str, str] | httpx.Headers,
    *,
    now: datetime | None = None,
    cap: float = 60.0,
) -> float | None:
    """The wait, in seconds, that a reply asks for; ``None`` when it asks for none.

    Reads ``retry-after-ms`` and ``x-ms-retry-after-ms`` (milliseconds) first, then
    ``Retry-After`` (seconds, or an HTTP date compared with ``now``). A negative wait or a
    date in the past gives ``0``; an infinite, NaN or huge value gives ``cap``; text that is
    none of these is ignored. Never raises.

    Args:
        headers: The response headers (names in any case).
        now: The current time, for an HTTP date (default: the clock).
        cap: The largest wait returned.
    """
    try:
        cap = float(cap)
        if math.isnan(cap) or cap < 0:
            cap = 0.0
        for name in ("retry-after-ms", "x-ms-retry-after-ms"):
            raw = _lookup(headers, name)
            if raw:
                seconds = _seconds(raw, scale=0.001, cap=cap)
                if seconds is not None:
                    return seconds
        raw = _lookup(headers, "retry-after")
        if not raw:
            return None
        seconds = _seconds(raw, scale=1.0, cap=cap)
        if seconds is not None:
            return seconds
        return _date_seconds(raw, now, cap)
    except Exception:  # total by contract: no header may ever break a call
        return None


def backoff(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    jitter: float,
    rng: random.Random | None = None,
) -> float:
    """The wait before attempt ``attempt + 1``, after ``attempt`` failed attempts (>= 1).

    The delay doubles from ``initial`` up to ``maximum``; then a fraction ``jitter`` of it is
    randomized: the result is uniform in ``[d * (1 - jitter), d]``. Zero in test mode.

    Args:
        attempt: How many attempts failed so far (values below 1 count as 1).
        initial: First delay, in seconds.
        maximum: Largest delay, in seconds.
        jitter: Fraction of the delay that is random, from 0 (exact) to 1 (full jitter).
        rng: Source of the jitter (default: the ``random`` module), for reproducible runs.
    """
    if _testing:
        return 0.0
    exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
    delay = min(maximum, initial * 2.0**exponent)
    if delay <= 0:
        return 0.0
    if jitter > 0:
        delay *= 1.0 - min(jitter, 1.0) * (rng or random).random()
    return delay


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the HTTP layer retries a request.

    Retried: connection failures, client-side timeouts, and the statuses in
    ``retry_statuses``. Waits honour ``Retry-After`` (seconds or an HTTP date, at most
    ``max_retry_after``), otherwise grow exponentially with jitter, by the one formula both
    retry layers share. ``batch_tasks_async.set_testing()`` removes every wait in tests.

    Attributes:
        max_attempts: Attempts in all, the first included (1 disables retries).
        backoff_initial: First backoff, in seconds; it doubles with each further attempt.
        backoff_max: Largest backoff, in seconds.
        jitter: Fraction of each backoff that is randomized, from 0 (exact delays) to 1
            (the default, "full jitter": uniform between 0 and the delay).
        max_retry_after: Largest ``Retry-After`` honoured, in seconds (longer asks are cut).
        total_timeout: No retry starts whose wait would end later than this many seconds after
            the first attempt began; ``None`` for no bound.
        retry_statuses: HTTP statuses that are retried.
        backoff: ``False`` retries at once, ignoring waits (for tests).
    """

    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 1.0
    max_retry_after: float = 60.0
    total_timeout: float | None = 120.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    backoff: bool = True

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ClientValidationError("RetryPolicy.max_attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ClientValidationError("RetryPolicy backoff values must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ClientValidationError(
                f"RetryPolicy.jitter must be between 0 and 1, got {self.jitter!r}"
            )

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def without_backoff(self) -> RetryPolicy:
        """The same policy with every wait removed (for tests)."""
        return attrs.evolve(self, backoff=False)

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` is one this policy retries."""
        if isinstance(error, TransportError):
            return True
        return isinstance(error, ServiceError) and error.status_code in self.retry_statuses

    def wait_for(self, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` after ``error``."""
        if not self.backoff or is_testing():
            return 0.0
        if isinstance(error, ServiceError) and error.retry_after is not None:
            return min(max(error.retry_after.total_seconds(), 0.0), self.max_retry_after)
        return backoff(
            attempt, initial=self.backoff_initial, maximum=self.backoff_max, jitter=self.jitter
        )

    def retrying(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]],
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    ) -> tenacity.AsyncRetrying:
        """The tenacity retry controller for one logical call under this policy.

        It stops after ``max_attempts``, or before a wait that would end past
        ``total_timeout`` (tenacity's ``stop_before_delay``); retries what ``is_retryable``
        accepts, waits what ``wait_for`` says, and re-raises the last SDK error when it stops.
        """
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(self.max_attempts)
        if self.total_timeout is not None:
            stop = stop | tenacity.stop_before_delay(self.total_timeout)

        def wait(retry_state: tenacity.RetryCallState) -> float:
            outcome = retry_state.outcome
            error = outcome.exception() if outcome is not None else None
            return self.wait_for(error, retry_state.attempt_number)

        return tenacity.AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(self.is_retryable),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
