"""One home for retry timing: ``Retry-After`` parsing, the backoff formula, the test switch.

Both retry layers use these: the HTTP layer's [`RetryPolicy`][batch_tasks_async.RetryPolicy]
and the bulk engine's [`BulkRetryPolicy`][batch_tasks_async.BulkRetryPolicy].

- [`parse_retry_after`][batch_tasks_async._retry.parse_retry_after] reads what a reply asks
  for (``retry-after-ms``, ``x-ms-retry-after-ms``, ``Retry-After`` as seconds or an HTTP
  date). It is total: whatever the headers hold, it returns a number of seconds in
  ``[0, cap]`` or ``None``, and never raises.
- [`backoff`][batch_tasks_async._retry.backoff] is exponential backoff with a fraction of
  jitter: ``jitter=1`` is "full jitter", ``jitter=0`` exact delays.
- [`set_testing`][batch_tasks_async._retry.set_testing] removes every wait of both layers
  (backoff and ``Retry-After``) at once, for test suites, as stamina's switch does.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

__all__ = ["backoff", "is_testing", "parse_retry_after", "set_testing"]

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
    """Whether [`set_testing`][batch_tasks_async._retry.set_testing] turned test mode on."""
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
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    try:
        delta = (when - reference).total_seconds()
    except OverflowError:  # pragma: no cover - datetimes are bounded to years 1..9999
        return cap
    return min(max(delta, 0.0), cap)


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
