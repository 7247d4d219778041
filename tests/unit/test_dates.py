"""Unit tests of ``batch_tasks_async._dates``, the one home of date and duration handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from batch_tasks_async import _dates, _serialization
from batch_tasks_async._dates import (
    format_datetime,
    format_duration,
    format_http_date,
    parse_datetime,
    parse_duration,
    parse_http_date,
)


def test_serialization_re_exports_the_same_helpers() -> None:
    for name in _dates.__all__:
        assert getattr(_serialization, name) is getattr(_dates, name)


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # obsolete asctime (no zone: UTC)
        "  Sun, 06 Nov 1994 08:49:37 GMT  ",
        "Sun, 06 Nov 1994 08:49:37 -0000",
    ],
)
def test_parse_http_date_reads_the_three_rfc_9110_forms(text: str) -> None:
    value = parse_http_date(text)
    assert value == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert value is not None
    assert value.utcoffset() == timedelta(0)


def test_parse_http_date_converts_offsets_to_utc() -> None:
    value = parse_http_date("Sun, 06 Nov 1994 10:49:37 +0200")
    assert value == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert value is not None
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "5",
        "1e20",
        "inf",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 99999 08:49:37 GMT",
        "Fri, 31 Dec 9999 23:59:59 -2359",  # past datetime.max in UTC
        None,
        42,
        b"Sun, 06 Nov 1994 08:49:37 GMT",
    ],
)
def test_parse_http_date_is_total(text: object) -> None:
    assert parse_http_date(text) is None


def test_http_date_format_parse_round_trip() -> None:
    when = datetime(2016, 9, 6, 6, 59, 15, 999_999, tzinfo=UTC)
    text = format_http_date(when)
    assert text == "Tue, 06 Sep 2016 06:59:15 GMT"
    assert parse_http_date(text) == when.replace(microsecond=0)


def test_format_http_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_http_date(datetime(2016, 9, 6))


def test_wire_text_survives_a_round_trip() -> None:
    text = "2016-09-06T06:59:15.1161429Z"
    value = parse_datetime(text)
    assert value == datetime(2016, 9, 6, 6, 59, 15, 116142, tzinfo=UTC)
    assert format_datetime(value) == text
    duration = parse_duration("P10675199DT2H48M5.4775807S")
    assert format_duration(duration) == "P10675199DT2H48M5.4775807S"


def test_user_values_are_formatted_canonically() -> None:
    east = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2024, 5, 1, 14, 0, tzinfo=east)) == "2024-05-01T12:00:00Z"
    assert format_duration(timedelta(hours=1, seconds=4.5)) == "PT1H4.5S"
