"""Dates and durations on the Batch wire: the one home of their parsing and formatting.

* Timestamps in JSON bodies are ISO-8601 / RFC 3339 (`parse_datetime`,
  `format_datetime`). The service sends 7 fractional digits (.NET ticks), which
  ``datetime`` cannot hold, so parsed values are a small ``datetime`` subclass that remembers the
  exact wire text and gives it back unchanged; values built by users are formatted canonically.
* Durations are ISO-8601 (`parse_duration`, `format_duration`), with the same
  remembered-text rule for ``TimeSpan.MaxValue`` and other 100 ns values.
* HTTP dates (``ocp-date``, ``If-Modified-Since``, ``Last-Modified``, ``Retry-After``) are
  RFC 9110 IMF-fixdate (`format_http_date`); `parse_http_date` reads that and the two
  obsolete forms and never raises.
"""

from __future__ import annotations

import email.utils
import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import isodate

__all__ = [
    "format_datetime",
    "format_duration",
    "format_http_date",
    "parse_datetime",
    "parse_duration",
    "parse_http_date",
]


class _WireDateTime(datetime):
    """A datetime parsed from the wire that remembers the exact text it was parsed from.

    ``datetime`` holds microseconds; the service sends 100 ns ticks. Keeping the text makes
    ``to_dict()`` give back exactly what the service sent. Datetimes are immutable, so the text
    always describes this value; anything derived from it (``replace()``, arithmetic, copies made
    by ``datetime`` itself) is created without the text and is formatted canonically.
    """

    __slots__ = ("_wire",)
    _wire: str

    def __repr__(self) -> str:
        return "datetime.datetime" + super().__repr__()[len(type(self).__name__) :]

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle/copy as a plain datetime: the value survives, the wire text is only a cache.
        return (datetime, super().__reduce__()[1])


class _WireDuration(timedelta):
    """A timedelta parsed from an ISO-8601 duration that remembers the exact wire text.

    ``TimeSpan.MaxValue`` (``P10675199DT2H48M5.4775807S``) has 100 ns precision that timedelta
    cannot hold; the text is emitted again on serialization so round trips are lossless.
    """

    __slots__ = ("_wire",)
    _wire: str

    def __repr__(self) -> str:
        return "datetime.timedelta" + super().__repr__()[len(type(self).__name__) :]

    def __reduce__(self) -> tuple[Any, ...]:
        return (timedelta, super().__reduce__()[1])


def parse_datetime(text: str) -> datetime:
    """Parse an ISO-8601 / RFC 3339 timestamp from the service into an aware ``datetime``.

    Up to 7 (or more) fractional digits are accepted; digits beyond microseconds are truncated in
    the value but kept in the returned object so `format_datetime` reproduces ``text``. A
    timestamp without an offset is taken as UTC (the service always sends UTC).

    Raises:
        ValueError: ``text`` is not an ISO-8601 timestamp.
    """
    parsed = _fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Built from the base class's pickle state: ``_WireDateTime.fromisoformat`` goes through the
    # subclass constructor's argument parsing and costs about twice as much.
    value = _WireDateTime(*parsed.__reduce__()[1])
    value._wire = text
    return value


_fromisoformat: Final = datetime.fromisoformat


def _check_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value!r} cannot be sent to the Batch service: its time zone is "
            "unknown; attach one, e.g. value.replace(tzinfo=datetime.UTC)"
        )


def format_datetime(value: datetime) -> str:
    """Format a datetime for a JSON body: the service's own text when ``value`` was parsed from it,
    otherwise UTC with a ``Z`` suffix and microseconds only when non-zero
    (``2024-05-01T12:00:00Z``, ``2024-05-01T12:00:00.250000Z``).

    Raises:
        ValueError: ``value`` is naive. Naive datetimes are rejected rather than guessed to be
            UTC or local time, because either guess silently shifts times for someone.
    """
    wire: str | None = getattr(value, "_wire", None)
    if wire is not None:
        return wire
    _check_aware(value)
    v = value.astimezone(UTC)
    text = f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    if v.microsecond:
        text += f".{v.microsecond:06d}"
    return text + "Z"


_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def format_http_date(value: datetime) -> str:
    """Format an aware datetime as an RFC 1123 HTTP date (``ocp-date``, ``If-Modified-Since``...).

    Example: ``Tue, 06 Sep 2016 06:59:15 GMT``. Sub-second precision is dropped (HTTP dates have
    whole seconds).

    Raises:
        ValueError: ``value`` is naive (see `format_datetime`).
    """
    _check_aware(value)
    v = value.astimezone(UTC)
    return (
        f"{_DAYS[v.weekday()]}, {v.day:02d} {_MONTHS[v.month - 1]} {v.year:04d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d} GMT"
    )


def parse_http_date(text: object) -> datetime | None:
    """Parse an HTTP date (RFC 9110: IMF-fixdate, RFC 850 or asctime) into an aware UTC datetime.

    Total: anything that is not such a date (garbage, out-of-range fields, a non-string)
    gives ``None``, never an exception. A date without a zone (asctime, ``-0000``) is UTC, as
    HTTP dates always are.
    """
    if not isinstance(text, str):
        return None
    try:
        value = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # an offset that pushes the value out of range
        return None


# The shape .NET's XmlConvert.ToString(TimeSpan) produces, which is all the service sends.
_DURATION_RE: Final = re.compile(
    r"(-)?P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?",
    re.ASCII,
)
_US_PER_SECOND: Final = 1_000_000


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration (``PT1H``, ``P7D``, ``P10675199DT2H48M5.4775807S``).

    Fractions below a microsecond are truncated in the value but kept in the returned object, so
    `format_duration` gives ``text`` back unchanged. Weeks and fractional hours/minutes are
    accepted too (through `isodate`).

    Raises:
        ValueError: ``text`` is not an ISO-8601 duration, or it uses calendar years or months,
            which have no fixed length.
    """
    match = _DURATION_RE.fullmatch(text)
    if match is not None and text not in ("P", "-P"):
        sign, days, hours, minutes, seconds, fraction = match.groups()
        total = (
            ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes or 0)) * 60
            + int(seconds or 0)
        ) * _US_PER_SECOND
        if fraction:
            total += int(fraction[:6].ljust(6, "0"))
        value = _WireDuration(microseconds=-total if sign else total)
    else:
        if text.endswith(("P", "T")) or not any(char.isdigit() for char in text):
            raise ValueError(f"not an ISO-8601 duration: {text!r}")
        try:
            parsed = isodate.parse_duration(text)
        except (isodate.ISO8601Error, ValueError, TypeError) as exc:
            raise ValueError(f"not an ISO-8601 duration: {text!r}") from exc
        if not isinstance(parsed, timedelta):
            raise ValueError(
                f"duration {text!r} uses calendar years or months, which timedelta cannot hold"
            )
        value = _WireDuration(
            days=parsed.days, seconds=parsed.seconds, microseconds=parsed.microseconds
        )
    value._wire = text
    return value


# Durations repeat across tasks (retention time, TimeSpan.MaxValue...) and parsed ones are
# immutable, so parsing each spelling once is safe.
_parse_duration_cached: Final = functools.lru_cache(maxsize=512)(parse_duration)


def format_duration(value: timedelta) -> str:
    """Format a timedelta as an ISO-8601 duration the service accepts.

    A value parsed from the service gives back its exact wire text. Other values are formatted
    canonically, zero components omitted: ``P7D``, ``PT1H``, ``P1DT2H3M4.5S``, ``PT0S``,
    ``-PT30S``.
    """
    wire: str | None = getattr(value, "_wire", None)
    if wire is not None:
        return wire
    total = (value.days * 86_400 + value.seconds) * _US_PER_SECOND + value.microseconds
    sign = "-" if total < 0 else ""
    total = abs(total)
    seconds, micros = divmod(total, _US_PER_SECOND)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}P{days}D" if days else f"{sign}P"
    if hours or minutes or seconds or micros or not days:
        text += "T"
        if hours:
            text += f"{hours}H"
        if minutes:
            text += f"{minutes}M"
        if micros:
            text += f"{seconds}.{micros:06d}".rstrip("0") + "S"
        elif seconds or not (hours or minutes):
            text += f"{seconds}S"
    return text
