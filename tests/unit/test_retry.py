"""The one home of retry timing: total ``Retry-After`` parsing, the backoff formula, test mode."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from batch_tasks_async import RetryPolicy, errors
from batch_tasks_async._retry import backoff, is_testing, parse_retry_after, set_testing

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def http_date(when: datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


@pytest.fixture
def testing_off() -> Iterator[None]:
    before = is_testing()
    set_testing(False)
    yield
    set_testing(before)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"RETRY-AFTER": " 2 "}, 2.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "-inf"}, 0.0),
        ({"Retry-After": "3600"}, 60.0),
        ({"Retry-After": "inf"}, 60.0),
        ({"Retry-After": "Infinity"}, 60.0),
        ({"Retry-After": "nan"}, 60.0),
        ({"Retry-After": "1e20"}, 60.0),
        ({"Retry-After": "1e400"}, 60.0),
        ({"Retry-After": "9" * 400}, 60.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "1_000"}, None),
        ({"Retry-After": "0x10"}, None),
        ({"Retry-After": "\x00\x7f"}, None),
        ({"Retry-After": "Tue, 99 Foo 2026 25:61:61 GMT"}, None),
        ({"Retry-After": http_date(NOW + timedelta(seconds=30))}, 30.0),
        ({"Retry-After": http_date(NOW - timedelta(days=3))}, 0.0),
        ({"Retry-After": http_date(NOW + timedelta(days=365))}, 60.0),
        ({"Retry-After": "Mon, 01 Jan 9999 00:00:00 GMT"}, 60.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"x-ms-retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "-1"}, 0.0),
        ({"retry-after-ms": "1e20"}, 60.0),
        ({"retry-after-ms": "nan"}, 60.0),
        ({"retry-after-ms": "bad", "Retry-After": "3"}, 3.0),
        ({"retry-after-ms": "100", "Retry-After": "3"}, 0.1),
        ({"x-ms-retry-after-ms": "bad"}, None),
    ],
)
def test_parse_retry_after_is_total(headers: Mapping[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected
    assert parse_retry_after(httpx.Headers(headers), now=NOW) == expected


@pytest.mark.parametrize(
    ("cap", "expected"), [(10.0, 10.0), (0.0, 0.0), (-1.0, 0.0), (float("nan"), 0.0)]
)
def test_parse_retry_after_cap(cap: float, expected: float) -> None:
    assert parse_retry_after({"Retry-After": "1e20"}, cap=cap) == expected


def test_parse_retry_after_naive_now_is_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    headers = {"Retry-After": http_date(NOW + timedelta(seconds=5))}
    assert parse_retry_after(headers, now=naive) == 5.0


def test_parse_retry_after_never_raises_on_odd_mappings() -> None:
    odd: dict[object, object] = {"Retry-After": 5, 7: "x"}
    assert parse_retry_after(odd, now=NOW) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempt", "initial", "maximum", "expected"),
    [
        (1, 0.5, 30.0, 0.5),
        (2, 0.5, 30.0, 1.0),
        (3, 0.5, 30.0, 2.0),
        (7, 0.5, 30.0, 30.0),
        (0, 0.5, 30.0, 0.5),
        (-3, 0.5, 30.0, 0.5),
        (10_000, 0.5, 30.0, 30.0),
        (3, 0.0, 30.0, 0.0),
        (3, 1.0, 0.0, 0.0),
    ],
)
def test_backoff_without_jitter(
    testing_off: None, attempt: int, initial: float, maximum: float, expected: float
) -> None:
    assert backoff(attempt, initial=initial, maximum=maximum, jitter=0.0) == expected


@pytest.mark.parametrize("jitter", [0.25, 0.5, 1.0])
def test_backoff_jitter_stays_in_its_band(testing_off: None, jitter: float) -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        for _ in range(50):
            wait = backoff(attempt, initial=1.0, maximum=5.0, jitter=jitter, rng=rng)
            assert ceiling * (1 - jitter) <= wait <= ceiling


def test_backoff_rng_makes_it_reproducible(testing_off: None) -> None:
    first = [backoff(3, initial=1, maximum=9, jitter=1, rng=random.Random(1)) for _ in range(3)]
    again = [backoff(3, initial=1, maximum=9, jitter=1, rng=random.Random(1)) for _ in range(3)]
    assert first == again


def test_testing_switch_removes_every_wait(testing_off: None) -> None:
    policy = RetryPolicy(backoff_initial=1.0, total_timeout=None)
    throttled = errors.ThrottledError(429, retry_after=timedelta(seconds=9))
    assert policy.wait_for(throttled, 1) == 9.0
    assert backoff(3, initial=1.0, maximum=5.0, jitter=0.0) == 4.0
    set_testing()
    assert is_testing()
    assert policy.wait_for(throttled, 1) == 0.0
    assert policy.wait_for(errors.ServerError(500), 3) == 0.0
    assert backoff(3, initial=1.0, maximum=5.0, jitter=0.0) == 0.0
    set_testing(False)
    assert not is_testing()
    assert backoff(3, initial=1.0, maximum=5.0, jitter=0.0) == 4.0


def test_retry_policy_uses_the_shared_formula(testing_off: None) -> None:
    exact = RetryPolicy(backoff_initial=0.5, backoff_max=3.0, jitter=0.0)
    assert [exact.wait_for(errors.ServerError(500), n) for n in (1, 2, 3, 4)] == [
        0.5,
        1.0,
        2.0,
        3.0,
    ]
    with pytest.raises(errors.ClientValidationError, match="jitter"):
        RetryPolicy(jitter=1.5)


def test_huge_retry_after_header_becomes_a_bounded_error() -> None:
    from batch_tasks_async._pipeline import _error_from_response

    response = httpx.Response(503, headers={"Retry-After": "1e20"})
    error = _error_from_response(response, None)
    assert error.retry_after is not None
    assert error.retry_after <= timedelta(days=1)
